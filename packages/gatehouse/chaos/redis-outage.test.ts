// Scenario 4: the private Redis is killed mid-load and started again, empty. While it is down, Bearer requests
// fail closed (503, never a 200 for a token that might be revoked) and the login limits still hold on local
// counters (429 after the limit, not 503 and not unlimited). When it is back, requests succeed again, and a
// session revoked before the outage is still refused although the new Redis started empty.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrivatePostgres, PrivateRedis, missingTools } from './helpers/backends.ts';
import { GatehouseServer } from './helpers/gatehouse.ts';
import { PASSWORD, histogramTable, newLedger, newStats, runLoad, send, statusTotals } from './helpers/load.ts';

const skip = missingTools() ?? false;
const ACCOUNT_LIMIT = 3;
const IP_LIMIT = 8;
let postgres: PrivatePostgres;
let redis: PrivateRedis;
let server: GatehouseServer;

before(async () => {
  if (skip) return;
  postgres = await PrivatePostgres.start();
  redis = await PrivateRedis.start();
  const databaseUrl = await postgres.createDatabase('chaos_redis');
  server = await GatehouseServer.start({
    databaseUrl,
    redisUrl: redis.url,
    env: { RATE_LIMIT_LOGIN_ACCOUNT: `${ACCOUNT_LIMIT}/15m`, RATE_LIMIT_LOGIN_IP: `${IP_LIMIT}/15m` },
  });
});

after(async () => {
  await server?.destroy();
  await redis?.destroy();
  await postgres?.destroy();
});

it('fails closed on Bearer checks, keeps login limits locally, and recovers when Redis is back', { skip, timeout: 300_000 }, async () => {
  const stats = newStats();
  const ledger = newLedger();
  const register = async (label: string) => {
    const res = await send(stats, server.url, 'POST', '/auth/register', { body: { email: `${label}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`, password: PASSWORD } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { accessToken: string; refreshToken: string; user: { email: string } };
  };
  const revoked = await register('revoked');
  assert.equal((await send(stats, server.url, 'POST', '/auth/logout', { token: revoked.accessToken })).status, 204);
  const live = await register('live');
  const target = await register('target');
  const others = await Promise.all([1, 2, 3, 4].map((i) => register(`other${i}`)));

  let outage = false;
  const load = runLoad({ targets: () => [server.url], users: 4, durationMs: 60_000, stats, ledger, light: true, thinkMs: 20, until: sleep(0).then(() => new Promise((r) => (stopLoad = r))) });
  let stopLoad: (v?: unknown) => void = () => {};
  await sleep(2000);

  await redis.stopServer('SIGKILL');
  const down = Date.now();
  outage = true;
  await sleep(1500);

  const meDuring: (number | string)[] = [];
  for (const token of [live.accessToken, revoked.accessToken, target.accessToken]) {
    const res = await send(stats, server.url, 'GET', '/auth/me', { token });
    meDuring.push(res.status === 503 ? `503 ${res.body?.error?.code}` : res.status);
  }

  // Per account: ACCOUNT_LIMIT failures answer 401, the next is 429, even with the right password.
  const accountRun: (number | string)[] = [];
  for (let i = 0; i < ACCOUNT_LIMIT; i++) accountRun.push((await send(stats, server.url, 'POST', '/auth/login', { body: { email: target.user.email, password: 'wrong password!' } })).status);
  accountRun.push((await send(stats, server.url, 'POST', '/auth/login', { body: { email: target.user.email, password: PASSWORD } })).status);

  // Per IP: failures spread over fresh accounts (under their own limit) meet the IP limit.
  const ipRun: (number | string)[] = [];
  for (let i = 0; i < IP_LIMIT + 2 && !ipRun.includes(429); i++) {
    const email = others[Math.floor(i / 2) % others.length]!.user.email;
    ipRun.push((await send(stats, server.url, 'POST', '/auth/login', { body: { email, password: 'wrong password!' } })).status);
  }
  const restarting = Date.now();
  outage = false;
  await redis.startServer();
  const up = Date.now();
  let recoveredAt = 0;
  while (Date.now() - up < 30_000) {
    const res = await send(stats, server.url, 'GET', '/auth/me', { token: live.accessToken });
    if (res.status === 200) {
      recoveredAt = Date.now();
      break;
    }
    await sleep(100);
  }
  const revokedAfter = await send(stats, server.url, 'GET', '/auth/me', { token: revoked.accessToken });
  await sleep(2000);
  stopLoad();
  await load;
  void outage;

  const bearerDuring = stats.timeline.filter((t) => t.route.startsWith('GET /auth/me') && t.startedAt > down && t.endedAt < restarting);
  const bearerStatuses: Record<string, number> = {};
  for (const t of bearerDuring) bearerStatuses[String(t.status)] = (bearerStatuses[String(t.status)] ?? 0) + 1;
  const afterUp = stats.timeline.filter((t) => t.startedAt > recoveredAt && recoveredAt > 0);
  const failedAfter = afterUp.filter((t) => typeof t.status !== 'number' || t.status >= 500).length;
  console.log(`  scenario 4: Redis down ${restarting - down} ms; GET /auth/me during the outage: ${JSON.stringify(bearerStatuses)}; direct checks ${JSON.stringify(meDuring)}`);
  console.log(`  login limits while down: account ${JSON.stringify(accountRun)} (limit ${ACCOUNT_LIMIT}), IP ${JSON.stringify(ipRun)} (limit ${IP_LIMIT}, ${ACCOUNT_LIMIT} failures already counted)`);
  console.log(`  first 200 ${recoveredAt ? recoveredAt - up : 'never'} ms after Redis accepted connections; ${failedAfter}/${afterUp.length} failures after; revoked token after recovery: ${revokedAfter.status} ${revokedAfter.body?.error?.code ?? ''}`);
  console.log(`  statuses: ${JSON.stringify(statusTotals(stats))}`);
  console.log(histogramTable(stats));
  const internal = server.internalErrors.filter((l) => !/ECONNREFUSED|STATE_UNAVAILABLE|Connection is closed|max retries|Stream isn't writeable/i.test(l));

  assert.equal(statusTotals(stats)['500'] ?? 0, 0, `never a 500: ${internal.slice(0, 3).join('\n')}`);
  assert.equal(bearerStatuses['200'] ?? 0, 0, 'no Bearer request started during the outage was answered 200');
  assert.ok((bearerStatuses['503'] ?? 0) > 0, 'Bearer requests during the outage were answered 503');
  assert.deepEqual(meDuring, ['503 service_unavailable', '503 service_unavailable', '503 service_unavailable'], 'fails closed for live and revoked tokens alike');
  assert.deepEqual(accountRun, [...Array(ACCOUNT_LIMIT).fill(401), 429], 'the per-account limit holds on local counters');
  assert.equal(ipRun.at(-1), 429, 'the per-IP limit holds on local counters');
  assert.equal(ipRun.filter((s) => s === 401).length + ACCOUNT_LIMIT, IP_LIMIT, 'exactly IP_LIMIT failures were answered before 429');
  assert.ok(!ipRun.includes(503) && !accountRun.includes(503), 'a limit check is never a 503');
  assert.ok(recoveredAt > 0 && recoveredAt - up < 10_000, 'Bearer requests succeed again within 10 s of Redis coming back');
  assert.equal(failedAfter, 0, 'fully recovered');
  assert.equal(revokedAfter.status, 401, 'a session revoked before the outage stays revoked in the new, empty Redis');
});
