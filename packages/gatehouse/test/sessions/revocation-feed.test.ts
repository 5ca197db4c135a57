// Gatehouse pushes each revoked session id on `<prefix>revocations`: Redis pub/sub with REDIS_URL, PostgreSQL
// NOTIFY on a PostgreSQL database without Redis. The payload is the documented JSON.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { REDIS_URL, skipUnlessPostgres, skipUnlessRedis } from '../helpers/backends.ts';
import { call, registerUser } from '../helpers/http.ts';

const skipRedis = await skipUnlessRedis();
const skipPg = await skipUnlessPostgres();

function firstOf<T>(subscribe: (resolve: (value: T) => void) => void, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
    subscribe((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

async function logOutAndCheck(server: TestServer, received: Promise<string>): Promise<void> {
  const { body } = await registerUser(server.app);
  const res = await call(server.app, 'POST', '/auth/logout', { token: body.accessToken });
  assert.equal(res.statusCode, 204);
  const sid = JSON.parse(Buffer.from(body.accessToken.split('.')[1], 'base64url').toString()).sid;
  const message = JSON.parse(await received);
  assert.deepEqual(Object.keys(message).sort(), ['sid', 'until', 'v']);
  assert.equal(message.v, 1);
  assert.equal(message.sid, sid);
  assert.ok(message.until >= server.runtime.ctx.now() + server.config.accessTokenTtlMs, 'refuse for at least an access-token lifetime');
}

describe('revocation feed', () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });

  it('publishes on the Redis channel <prefix>revocations', { skip: skipRedis }, async () => {
    const prefix = `gh-test:feed:${randomBytes(4).toString('hex')}:`;
    const server = await startTestServer({ redis: true, redisPrefix: prefix });
    closers.push(() => server.close());
    const subscriber = new Redis(REDIS_URL);
    closers.push(() => subscriber.quit());
    await subscriber.subscribe(`${prefix}revocations`);
    const received = firstOf<string>((resolve) => subscriber.on('message', (_channel: string, payload: string) => resolve(payload)));
    await logOutAndCheck(server, received);
  });

  it('NOTIFYs "<prefix>revocations" on PostgreSQL without Redis', { skip: skipPg }, async () => {
    const prefix = `gh-test:feed:${randomBytes(4).toString('hex')}:`;
    const server = await startTestServer({ postgres: true, redisPrefix: prefix });
    closers.push(() => server.close());
    const listener = new pg.Client({ connectionString: server.config.databaseUrl! });
    await listener.connect();
    closers.push(() => listener.end());
    await listener.query(`LISTEN "${prefix}revocations"`);
    const received = firstOf<string>((resolve) => listener.on('notification', (n) => resolve(n.payload ?? '')));
    await logOutAndCheck(server, received);
  });
});
