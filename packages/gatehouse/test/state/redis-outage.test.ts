// A private Redis (its own process and port, so other tests' Redis is never touched) is stopped under a
// running server, then started again empty. While it is down: Bearer checks fail closed (503), rate limits
// still count locally. When it is back: the revocation set is refilled before any token is believed again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrivateRedis } from '../../chaos/helpers/backends.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { IN_CI, redisPrefix } from '../helpers/backends.ts';
import { PASSWORD, call, expectError, registerUser } from '../helpers/http.ts';

async function redisServerAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('redis-server', ['--version'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

const skip = (await redisServerAvailable()) ? false : IN_CI ? false : 'redis-server is not installed: skipping the Redis outage tests';

/** Polls until `check` passes or the bounded number of tries runs out; returns the number of tries used. */
async function eventually(check: () => Promise<boolean>, tries = 100, everyMs = 100): Promise<number> {
  for (let i = 1; i <= tries; i++) {
    if (await check()) return i;
    await sleep(everyMs);
  }
  throw new Error('condition not reached in time');
}

describe('Redis stopped under a running server', { skip }, () => {
  let redis: PrivateRedis;
  let server: TestServer;

  before(async () => {
    // Its own redis-server process and port (the chaos suite's helper), so the shared Redis is never touched.
    redis = await PrivateRedis.start();
    server = await startTestServer({ redis: true, env: { REDIS_URL: redis.url, RATE_LIMIT_LOGIN_ACCOUNT: '3/15m' }, redisPrefix: redisPrefix() });
  });
  after(async () => {
    await server?.close();
    await redis?.destroy();
  });

  it('fails closed for tokens, keeps limiting logins locally, and refills revocations when Redis is back empty', async () => {
    const alive = await registerUser(server.app);
    const revoked = await registerUser(server.app);
    assert.equal((await call(server.app, 'POST', '/auth/logout', { token: revoked.body.accessToken })).statusCode, 204);
    expectError(await call(server.app, 'GET', '/auth/me', { token: revoked.body.accessToken }), 401, 'token_revoked');

    await redis.stopServer();

    // A token check cannot read the revocation set: 503, never a 200 that might be for a revoked session.
    await eventually(async () => (await call(server.app, 'GET', '/auth/me', { token: alive.body.accessToken })).statusCode === 503);
    const down = await call(server.app, 'GET', '/auth/me', { token: alive.body.accessToken });
    expectError(down, 503, 'service_unavailable');
    assert.ok(Number(down.headers['retry-after']) >= 1);
    expectError(await call(server.app, 'GET', '/auth/me', { token: revoked.body.accessToken }), 503, 'service_unavailable');

    // The failed-login limit still holds, on local counters: 401, 401, 401, then 429 even for the right password.
    for (let i = 0; i < 3; i++) {
      expectError(await call(server.app, 'POST', '/auth/login', { body: { email: alive.email, password: 'wrong password!' } }), 401, 'invalid_credentials');
    }
    expectError(await call(server.app, 'POST', '/auth/login', { body: { email: alive.email, password: PASSWORD } }), 429, 'rate_limited');
    assert.equal((await call(server.app, 'GET', '/health')).statusCode, 200, 'liveness does not depend on Redis');
    expectError(await call(server.app, 'GET', '/ready'), 503, 'service_unavailable');

    // Redis comes back empty (no persistence): the revoked session must still be refused.
    await redis.startServer();
    const tries = await eventually(async () => (await call(server.app, 'GET', '/auth/me', { token: alive.body.accessToken })).statusCode === 200);
    expectError(await call(server.app, 'GET', '/auth/me', { token: revoked.body.accessToken }), 401, 'token_revoked');
    assert.equal((await call(server.app, 'GET', '/ready')).statusCode, 200);
    assert.ok(server.logs.some((line) => line.includes('rate limits use local counters')), 'the switch to local counters is logged');
    assert.ok(server.logs.some((line) => line.includes('revocations restored')), 'the refill is logged');
    console.log(`recovered ${tries * 100} ms (at most) after Redis came back`);
  });
});
