// Scenario 3: the private PostgreSQL is stopped mid-load (pg_ctl stop -m fast: every connection is cut) and
// started again a few seconds later. During the outage the server answers 503 service_unavailable, never 500;
// afterwards it recovers by itself (same process), and no acknowledged write is lost.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { missingTools, type PrivatePostgres, type PrivateRedis } from './helpers/backends.ts';
import { unexpectedErrors, type GatehouseServer } from './helpers/gatehouse.ts';
import { startStack, stopStack } from './helpers/stack.ts';
import { integrityViolations } from './helpers/integrity.ts';
import { CHAOS_SECONDS, checkLedger, checkTokens, histogramTable, newLedger, newStats, runLoad, statusTotals } from './helpers/load.ts';

const skip = missingTools() ?? false;
const OUTAGE_MS = 5000;
let postgres: PrivatePostgres;
let redis: PrivateRedis;
let server: GatehouseServer;
let databaseUrl: string;

before(async () => {
  if (!skip) ({ postgres, redis, server, databaseUrl } = await startStack('chaos_pg'));
});

after(() => stopStack({ server, redis, postgres }));

it('answers 503 while PostgreSQL is down and recovers without a restart', { skip, timeout: 300_000 }, async () => {
  const stats = newStats();
  const ledger = newLedger();
  const seconds = Math.max(25, Math.min(CHAOS_SECONDS, 45));
  const pid = server.pid;
  const load = runLoad({ targets: () => [server.url], users: 16, durationMs: seconds * 1000, stats, ledger });
  await sleep(8000);
  const stopping = Date.now();
  await postgres.stopServer('fast');
  const down = Date.now();
  await sleep(OUTAGE_MS);
  const starting = Date.now();
  await postgres.startServer();
  const up = Date.now();
  await load;
  assert.equal(server.pid, pid, 'the same server process throughout');

  const during = stats.timeline.filter((t) => t.endedAt > down && t.endedAt < starting);
  const duringStatuses: Record<string, number> = {};
  for (const t of during) duringStatuses[String(t.status)] = (duringStatuses[String(t.status)] ?? 0) + 1;
  const firstOk = stats.timeline.find((t) => t.startedAt >= up && /register|refresh|me|login/.test(t.route) && typeof t.status === 'number' && t.status < 300);
  const recoveryMs = firstOk ? firstOk.endedAt - up : Infinity;
  const afterUp = stats.timeline.filter((t) => t.startedAt >= up + 2000);
  const failedAfter = afterUp.filter((t) => t.status === 503 || t.status === 500 || typeof t.status !== 'number').length;
  const totals = statusTotals(stats);
  console.log(`  scenario 3: ${stats.requests} requests in ${seconds} s; PostgreSQL stop took ${down - stopping} ms, down ${starting - down} ms, start ${up - starting} ms`);
  console.log(`  answers during the outage: ${JSON.stringify(duringStatuses)}; first success ${recoveryMs} ms after PostgreSQL accepted connections; ${failedAfter}/${afterUp.length} failures from 2 s after`);
  console.log(`  statuses: ${JSON.stringify(totals)}`);
  console.log(histogramTable(stats));

  const tokens = await checkTokens(stats, server.url, ledger);
  const report = await checkLedger(databaseUrl, ledger);
  const violations = await integrityViolations(databaseUrl);
  console.log(`  accounts: ${report.acknowledged} acknowledged, ${report.refused} refused, ${report.unknown} unanswered (${report.unknownLanded} of them landed)`);
  console.log(`  integrity: ${JSON.stringify(violations)}`);

  assert.equal(totals['500'] ?? 0, 0, `never a 500: ${unexpectedErrors(server.internalErrors).join(' | ')}`);
  assert.ok((duringStatuses['503'] ?? 0) > 0, 'the outage was seen as 503');
  const wrong = during.filter((t) => t.status === 503 && t.code !== 'service_unavailable');
  assert.deepEqual(wrong, [], "every 503 carries the contract's service_unavailable body");
  assert.ok(recoveryMs < 10_000, `recovered within 10 s (took ${recoveryMs} ms)`);
  assert.equal(failedAfter, 0, 'fully recovered: no failure from 2 s after PostgreSQL is back');
  assert.deepEqual(report.missing, [], 'no acknowledged register lost');
  assert.deepEqual(report.unrevoked, [], 'no acknowledged logout lost');
  assert.deepEqual(report.unacknowledged, [], 'no user whose register was answered with an error');
  assert.deepEqual(ledger.anomalies, []);
  assert.deepEqual(tokens.liveRefused, [], 'no acknowledged rotation lost');
  assert.deepEqual(tokens.endedAccepted, []);
  assert.deepEqual(violations, {}, 'the store passes its integrity checks');
});
