// Scenario 1: a saturating mixed load (register, login, refresh, me, logout) for CHAOS_SECONDS against a real
// server process on a private PostgreSQL and Redis; afterwards the store holds exactly what was acknowledged.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { missingTools, type PrivatePostgres, type PrivateRedis } from './helpers/backends.ts';
import { unexpectedErrors, type GatehouseServer } from './helpers/gatehouse.ts';
import { startStack, stopStack } from './helpers/stack.ts';
import { integrityViolations } from './helpers/integrity.ts';
import { CHAOS_SECONDS, checkLedger, checkTokens, histogramTable, newLedger, newStats, runLoad, statusTotals } from './helpers/load.ts';

const skip = missingTools() ?? false;
let postgres: PrivatePostgres;
let redis: PrivateRedis;
let server: GatehouseServer;
let databaseUrl: string;

before(async () => {
  if (!skip) ({ postgres, redis, server, databaseUrl } = await startStack('chaos_load'));
});

after(() => stopStack({ server, redis, postgres }));

it(`holds exactly what it acknowledged after ${CHAOS_SECONDS} s of mixed load`, { skip, timeout: (CHAOS_SECONDS + 120) * 1000 }, async () => {
  const stats = newStats();
  const ledger = newLedger();
  const started = Date.now();
  await runLoad({ targets: () => [server.url], users: 16, durationMs: CHAOS_SECONDS * 1000, stats, ledger });
  const seconds = (Date.now() - started) / 1000;
  const totals = statusTotals(stats);
  console.log(`  scenario 1: ${stats.requests} requests in ${seconds.toFixed(1)} s = ${(stats.requests / seconds).toFixed(0)} req/s, 16 virtual users`);
  console.log(`  statuses: ${JSON.stringify(totals)}`);
  console.log(histogramTable(stats));

  const tokens = await checkTokens(stats, server.url, ledger);
  const report = await checkLedger(databaseUrl, ledger);
  const violations = await integrityViolations(databaseUrl);
  console.log(`  accounts: ${report.acknowledged} acknowledged, ${report.refused} refused, ${report.unknown} unanswered (${report.unknownLanded} of them landed)`);
  console.log(`  tokens: ${tokens.liveChecked} live sessions refreshed, ${tokens.endedChecked} logged-out sessions refused`);

  assert.equal(totals['500'] ?? 0, 0, `no 500 under load: ${unexpectedErrors(server.internalErrors).join(' | ')}`);
  assert.deepEqual(ledger.anomalies, [], 'no acknowledged state contradicted later');
  assert.deepEqual(report.missing, [], 'every acknowledged register is stored');
  assert.deepEqual(report.duplicated, [], 'once');
  assert.deepEqual(report.unacknowledged, [], 'no user whose register was refused');
  assert.deepEqual(report.strangers, [], 'no user nobody asked for');
  assert.deepEqual(report.unrevoked, [], 'every acknowledged logout is stored');
  assert.deepEqual(tokens.liveRefused, [], 'the latest acknowledged refresh token of every live session works');
  assert.deepEqual(tokens.endedAccepted, [], 'a logged-out session has no usable token');
  assert.deepEqual(violations, {}, 'the store passes its integrity checks');
  assert.ok(report.acknowledged > 0 && (stats.histogram.get('POST /auth/login 200') ?? 0) > 0 && (stats.histogram.get('POST /auth/logout 204') ?? 0) > 0, 'every operation ran');
});
