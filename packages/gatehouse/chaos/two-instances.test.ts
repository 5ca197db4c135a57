// Scenario 5: two server processes on one PostgreSQL and one Redis, behind this test's own round-robin.
// A logout on one is refused on the other at the next request; the failed-login limit is one count across
// both; `gatehouse keys rotate` run mid-load leaves zero failed verifications on either instance and through
// @gatehouse/verify.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVerifier } from '../../verify/src/index.ts';
import { PrivatePostgres, PrivateRedis, missingTools } from './helpers/backends.ts';
import { GatehouseServer, runCli } from './helpers/gatehouse.ts';
import { integrityViolations } from './helpers/integrity.ts';
import { CHAOS_SECONDS, PASSWORD, claimsOf, histogramTable, newLedger, newStats, runLoad, send, statusTotals } from './helpers/load.ts';

const skip = missingTools() ?? false;
const ACCOUNT_LIMIT = 4;
// How often each instance rereads the key ring; the load runs well past it after the rotation.
const KEY_RING_REFRESH_S = 5;
let postgres: PrivatePostgres;
let redis: PrivateRedis;
let a: GatehouseServer;
let b: GatehouseServer;
let databaseUrl: string;

before(async () => {
  if (skip) return;
  postgres = await PrivatePostgres.start();
  redis = await PrivateRedis.start();
  databaseUrl = await postgres.createDatabase('chaos_two');
  const env = { RATE_LIMIT_LOGIN_ACCOUNT: `${ACCOUNT_LIMIT}/15m`, KEY_RING_REFRESH: `${KEY_RING_REFRESH_S}s` };
  a = await GatehouseServer.start({ databaseUrl, redisUrl: redis.url, env });
  // One deployment, one issuer: both instances are PUBLIC_URL = A's address.
  b = await GatehouseServer.start({ databaseUrl, redisUrl: redis.url, publicUrl: a.url, env });
});

after(async () => {
  await a?.destroy();
  await b?.destroy();
  await redis?.destroy();
  await postgres?.destroy();
});

it('honours a logout on one instance at the next request on the other', { skip, timeout: 120_000 }, async () => {
  const stats = newStats();
  const refusedBy: Record<string, number> = {};
  for (let i = 0; i < 10; i++) {
    const [first, second] = i % 2 ? [a, b] : [b, a];
    const reg = await send(stats, first.url, 'POST', '/auth/register', { body: { email: `cross-${i}-${Date.now()}@example.com`, password: PASSWORD } });
    assert.equal(reg.status, 201);
    assert.equal((await send(stats, second.url, 'GET', '/auth/me', { token: reg.body.accessToken })).status, 200, 'the other instance knows the new user');
    assert.equal((await send(stats, first.url, 'POST', '/auth/logout', { token: reg.body.accessToken })).status, 204);
    const me = await send(stats, second.url, 'GET', '/auth/me', { token: reg.body.accessToken });
    const refresh = await send(stats, second.url, 'POST', '/auth/refresh', { body: { refreshToken: reg.body.refreshToken } });
    assert.equal(me.status, 401, 'access token refused on the other instance');
    assert.equal(me.body.error.code, 'token_revoked');
    assert.equal(refresh.status, 401, 'refresh token refused on the other instance');
    refusedBy[`${me.body.error.code}/${refresh.body.error.code}`] = (refusedBy[`${me.body.error.code}/${refresh.body.error.code}`] ?? 0) + 1;
  }
  console.log(`  scenario 5a: 10 logouts, each refused at once on the other instance: ${JSON.stringify(refusedBy)}`);
});

it('counts failed logins across both instances against one account limit', { skip, timeout: 120_000 }, async () => {
  const stats = newStats();
  const reg = await send(stats, a.url, 'POST', '/auth/register', { body: { email: `limit-${Date.now()}@example.com`, password: PASSWORD } });
  const email = reg.body.user.email;
  const answers: string[] = [];
  for (let i = 0; i < ACCOUNT_LIMIT + 1; i++) {
    const server = i % 2 ? b : a;
    const res = await send(stats, server.url, 'POST', '/auth/login', { body: { email, password: 'wrong password!' } });
    answers.push(`${server === a ? 'A' : 'B'}:${res.status}`);
  }
  const right = await send(stats, ACCOUNT_LIMIT % 2 ? a.url : b.url, 'POST', '/auth/login', { body: { email, password: PASSWORD } });
  answers.push(`right password:${right.status}`);
  console.log(`  scenario 5b: failed logins alternating A/B with RATE_LIMIT_LOGIN_ACCOUNT=${ACCOUNT_LIMIT}/15m: ${answers.join(' ')}`);
  assert.deepEqual(
    answers.slice(0, ACCOUNT_LIMIT).map((s) => s.split(':')[1]),
    Array(ACCOUNT_LIMIT).fill('401'),
  );
  assert.equal(answers[ACCOUNT_LIMIT]!.split(':')[1], '429', 'the limit is reached at the configured count, split across both');
  assert.equal(right.status, 429, 'even the right password, on either instance');
});

it('rotates the signing key mid-load with zero failed verifications', { skip, timeout: 300_000 }, async () => {
  const stats = newStats();
  const ledger = newLedger();
  const verifier = createVerifier({ issuer: a.url, audience: a.url, jwksUrl: `${b.url}/.well-known/jwks.json` });
  const verification = { ok: 0, failed: 0, failures: new Map<string, number>(), kids: new Map<string, number>() };
  const pending: Promise<void>[] = [];
  const onAccessToken = (token: string) => {
    const kid = claimsOf(token).kid ?? '?';
    verification.kids.set(kid, (verification.kids.get(kid) ?? 0) + 1);
    pending.push(
      verifier.verifyAccessToken(token).then(
        () => void verification.ok++,
        (err: Error & { code?: string }) => {
          verification.failed++;
          const key = `${err.code ?? err.name}: ${err.message}`;
          verification.failures.set(key, (verification.failures.get(key) ?? 0) + 1);
        },
      ),
    );
  };
  const seconds = Math.max(KEY_RING_REFRESH_S * 4 + 10, Math.min(CHAOS_SECONDS, 60));
  const load = runLoad({ targets: () => [a.url, b.url], users: 12, durationMs: seconds * 1000, stats, ledger, onAccessToken });
  await sleep(6000);
  const rotatedAt = Date.now();
  const cli = await runCli(['keys', 'rotate'], a.env);
  await load;
  await Promise.all(pending);
  await verifier.close();

  const meStatuses: Record<string, number> = {};
  for (const t of stats.timeline.filter((t) => t.route.startsWith('GET /auth/me') && t.startedAt > rotatedAt)) meStatuses[String(t.status)] = (meStatuses[String(t.status)] ?? 0) + 1;
  const totals = statusTotals(stats);
  console.log(`  scenario 5c: ${stats.requests} requests in ${seconds} s round-robin over 2 instances = ${(stats.requests / seconds).toFixed(0)} req/s; keys rotate: ${cli.output.trim()}`);
  console.log(`  signing keys seen in issued tokens: ${JSON.stringify(Object.fromEntries(verification.kids))}`);
  console.log(`  @gatehouse/verify: ${verification.ok} verified, ${verification.failed} failed ${JSON.stringify(Object.fromEntries(verification.failures))}`);
  console.log(`  GET /auth/me after the rotation (either instance): ${JSON.stringify(meStatuses)}`);
  console.log(`  statuses: ${JSON.stringify(totals)}`);
  console.log(histogramTable(stats));

  assert.equal(cli.code, 0, cli.output);
  assert.ok(verification.kids.size >= 2, 'tokens signed by the new key were issued during the run');
  assert.equal(totals['500'] ?? 0, 0);
  assert.deepEqual(ledger.anomalies, [], 'zero failed verifications on either instance');
  assert.equal(verification.failed, 0, 'zero failed verifications through @gatehouse/verify');
  assert.ok(verification.ok > 0);
  assert.deepEqual(await integrityViolations(databaseUrl), {});
});
