// Scenario 2: the server is killed with SIGKILL mid-load, several times, and started again on the same port and
// database. No user is left half-made, the store passes its integrity checks, and every acknowledged write
// survived.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { missingTools, type PrivatePostgres, type PrivateRedis } from './helpers/backends.ts';
import { unexpectedErrors, type GatehouseServer } from './helpers/gatehouse.ts';
import { startStack, stopStack } from './helpers/stack.ts';
import { integrityViolations } from './helpers/integrity.ts';
import { CHAOS_SECONDS, checkLedger, checkTokens, histogramTable, newLedger, newStats, runLoad, statusTotals } from './helpers/load.ts';

const skip = missingTools() ?? false;
const KILLS = 3;
let postgres: PrivatePostgres;
let redis: PrivateRedis;
let server: GatehouseServer;
let databaseUrl: string;

before(async () => {
  if (!skip) ({ postgres, redis, server, databaseUrl } = await startStack('chaos_kill'));
});

after(() => stopStack({ server, redis, postgres }));

it(`leaves no half-made user after ${KILLS} kill -9 mid-load`, { skip, timeout: 300_000 }, async () => {
  const stats = newStats();
  const ledger = newLedger();
  const seconds = Math.max(20, Math.min(CHAOS_SECONDS, 45));
  const load = runLoad({ targets: () => [server.url], users: 16, durationMs: seconds * 1000, stats, ledger });
  const restarts: number[] = [];
  const lost: number[] = [];
  for (let i = 0; i < KILLS; i++) {
    await sleep((seconds * 1000) / (KILLS + 1) - 2000);
    const killedAt = Date.now();
    await server.stop('SIGKILL');
    await server.startProcess();
    restarts.push(Date.now() - killedAt);
    lost.push(stats.timeline.filter((t) => t.endedAt >= killedAt - 50 && (t.status === 'network' || t.status === 'timeout')).length);
  }
  await load;
  const totals = statusTotals(stats);
  console.log(`  scenario 2: ${stats.requests} requests in ${seconds} s, ${KILLS} × kill -9; restart to /health took ${restarts.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}; unanswered around each kill: ${lost.join(', ')}`);
  console.log(`  statuses: ${JSON.stringify(totals)}`);
  console.log(histogramTable(stats));

  const tokens = await checkTokens(stats, server.url, ledger);
  const report = await checkLedger(databaseUrl, ledger);
  const violations = await integrityViolations(databaseUrl);
  console.log(`  accounts: ${report.acknowledged} acknowledged, ${report.refused} refused, ${report.unknown} unanswered (${report.unknownLanded} of them landed)`);
  console.log(`  tokens: ${tokens.liveChecked} live sessions refreshed, ${tokens.endedChecked} logged-out sessions refused`);
  console.log(`  integrity: ${JSON.stringify(violations)}`);

  assert.equal(totals['500'] ?? 0, 0, `no 500: ${unexpectedErrors(server.internalErrors).join(' | ')}`);
  assert.deepEqual(violations, {}, 'no half-made user; the store passes its integrity checks');
  assert.deepEqual(report.missing, [], 'every acknowledged register survived');
  assert.deepEqual(report.duplicated, []);
  assert.deepEqual(report.unacknowledged, [], 'no user whose register was refused');
  assert.deepEqual(report.strangers, []);
  assert.deepEqual(report.unrevoked, [], 'every acknowledged logout survived');
  assert.deepEqual(ledger.anomalies, [], 'no acknowledged state contradicted later');
  assert.deepEqual(tokens.liveRefused, [], 'every acknowledged rotation survived');
  assert.deepEqual(tokens.endedAccepted, []);
});
