// Attack catalogue: password guessing from rotating addresses. The per-IP and per-account limits hold when
// the attacker writes a fresh X-Forwarded-For (and its cousins) on every request: without TRUST_PROXY none
// of them is believed; with TRUST_PROXY naming the proxy, each real client behind it has its own bucket, a
// client-written entry is never the one believed, and the per-account limit holds however the IPs rotate.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { createTestDatabase, redisPrefix, skipUnlessPostgres, skipUnlessRedis } from '../helpers/backends.ts';
import { PASSWORD, call, expectError, registerUser, uniqueEmail } from '../helpers/http.ts';

const servers: TestServer[] = [];
async function serverWith(env: Record<string, string>): Promise<TestServer> {
  const server = await startTestServer({ env: { LOG_LEVEL: 'warn', ...env } });
  servers.push(server);
  return server;
}
after(async () => {
  for (const server of servers) await server.close();
});

const PROXY = '10.0.0.1';
let rotation = 0;
/** A fresh address for every request, in every header a proxy-trusting app might read. */
function spoofed(): Record<string, string> {
  rotation += 1;
  const ip = `203.0.${(rotation >> 8) & 255}.${rotation & 255}`;
  return {
    'x-forwarded-for': ip,
    'x-real-ip': ip,
    forwarded: `for=${ip}`,
    'true-client-ip': ip,
    'cf-connecting-ip': ip,
    'x-client-ip': ip,
    'fastly-client-ip': ip,
  };
}

function guess(server: TestServer, email: string, options: { ip: string; headers?: Record<string, string>; password?: string }): Promise<LightMyRequestResponse> {
  return call(server.app, 'POST', '/auth/login', { body: { email, password: options.password ?? 'wrong password 123' }, ip: options.ip, headers: options.headers });
}

describe('TRUST_PROXY unset: forwarded addresses are never believed', () => {
  it('the per-IP login limit triggers however X-Forwarded-For rotates', async () => {
    const server = await serverWith({ RATE_LIMIT_LOGIN_IP: '5/15m' });
    for (let i = 0; i < 5; i++) expectError(await guess(server, uniqueEmail('ip'), { ip: '198.51.100.10', headers: spoofed() }), 401, 'invalid_credentials');
    for (let i = 0; i < 5; i++) expectError(await guess(server, uniqueEmail('ip'), { ip: '198.51.100.10', headers: spoofed() }), 429, 'rate_limited');
    // Another real client is unaffected.
    expectError(await guess(server, uniqueEmail('ip'), { ip: '198.51.100.11' }), 401, 'invalid_credentials');
  });

  it('the per-account limit holds while both the socket address and X-Forwarded-For rotate, and locks out the right password too', async () => {
    const server = await serverWith({ RATE_LIMIT_LOGIN_ACCOUNT: '3/15m' });
    const { email } = await registerUser(server.app);
    for (let i = 0; i < 3; i++) expectError(await guess(server, email, { ip: `198.51.100.${20 + i}`, headers: spoofed() }), 401, 'invalid_credentials');
    // Case and spacing name the same account.
    for (const variant of [email, email.toUpperCase(), ` ${email} `]) {
      expectError(await guess(server, variant, { ip: `198.51.100.${40 + rotation % 50}`, headers: spoofed() }), 429, 'rate_limited');
    }
    const right = await guess(server, email, { ip: '198.51.100.99', headers: spoofed(), password: PASSWORD });
    expectError(right, 429, 'rate_limited');
    assert.ok(Number(right.headers['retry-after']) > 0);
  });

  it('the per-request limit (RATE_LIMIT_IP) and the sign-up limit ignore forwarded addresses too', async () => {
    const server = await serverWith({ RATE_LIMIT_IP: '10/1m', RATE_LIMIT_SIGNUP_IP: '3/1h' });
    for (let i = 0; i < 10; i++) assert.equal((await call(server.app, 'GET', '/.well-known/jwks.json', { ip: '198.51.100.30', headers: spoofed() })).statusCode, 200);
    expectError(await call(server.app, 'GET', '/.well-known/jwks.json', { ip: '198.51.100.30', headers: spoofed() }), 429, 'rate_limited');
    for (let i = 0; i < 3; i++) {
      const res = await call(server.app, 'POST', '/auth/forgot-password', { body: { email: uniqueEmail('fp') }, ip: '198.51.100.31', headers: spoofed() });
      assert.equal(res.statusCode, 202, res.body);
    }
    expectError(await call(server.app, 'POST', '/auth/forgot-password', { body: { email: uniqueEmail('fp') }, ip: '198.51.100.31', headers: spoofed() }), 429, 'rate_limited');
    expectError(await call(server.app, 'POST', '/auth/register', { body: { email: uniqueEmail('reg'), password: PASSWORD }, ip: '198.51.100.31', headers: spoofed() }), 429, 'rate_limited');
  });
});

describe(`TRUST_PROXY=${PROXY}: the proxy's word is believed, a client's is not`, () => {
  it('each client behind the proxy has its own per-IP bucket', async () => {
    const server = await serverWith({ RATE_LIMIT_LOGIN_IP: '3/15m', TRUST_PROXY: PROXY });
    for (const client of ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']) {
      for (let i = 0; i < 3; i++) expectError(await guess(server, uniqueEmail('bucket'), { ip: PROXY, headers: { 'x-forwarded-for': client } }), 401, 'invalid_credentials');
    }
    // Twelve failures went through one proxy socket without tripping anything; the fourth per client does.
    expectError(await guess(server, uniqueEmail('bucket'), { ip: PROXY, headers: { 'x-forwarded-for': '192.0.2.1' } }), 429, 'rate_limited');
    expectError(await guess(server, uniqueEmail('bucket'), { ip: PROXY, headers: { 'x-forwarded-for': '192.0.2.5' } }), 401, 'invalid_credentials');
  });

  it('the per-account limit holds while the client addresses rotate behind the proxy', async () => {
    const server = await serverWith({ RATE_LIMIT_LOGIN_ACCOUNT: '3/15m', TRUST_PROXY: PROXY });
    const { email } = await registerUser(server.app);
    for (let i = 0; i < 3; i++) expectError(await guess(server, email, { ip: PROXY, headers: { 'x-forwarded-for': `192.0.2.${10 + i}` } }), 401, 'invalid_credentials');
    for (let i = 0; i < 5; i++) expectError(await guess(server, email, { ip: PROXY, headers: { 'x-forwarded-for': `192.0.2.${20 + i}` } }), 429, 'rate_limited');
    expectError(await guess(server, email, { ip: PROXY, headers: { 'x-forwarded-for': '192.0.2.99' }, password: PASSWORD }), 429, 'rate_limited');
  });

  it('what a client writes before the address the proxy appended is never the one believed', async () => {
    const server = await serverWith({ RATE_LIMIT_LOGIN_IP: '3/15m', TRUST_PROXY: PROXY });
    // The attacker (really 192.0.2.50) writes a fresh X-Forwarded-For each time; the proxy appends the truth.
    for (let i = 0; i < 3; i++) {
      expectError(await guess(server, uniqueEmail('chain'), { ip: PROXY, headers: { 'x-forwarded-for': `${spoofed()['x-forwarded-for']}, 192.0.2.50` } }), 401, 'invalid_credentials');
    }
    expectError(await guess(server, uniqueEmail('chain'), { ip: PROXY, headers: { 'x-forwarded-for': `${spoofed()['x-forwarded-for']}, 192.0.2.50` } }), 429, 'rate_limited');
    // Claiming to be the proxy itself, or loopback, in the client-written part changes nothing either.
    expectError(await guess(server, uniqueEmail('chain'), { ip: PROXY, headers: { 'x-forwarded-for': `${PROXY}, 127.0.0.1, 192.0.2.50` } }), 429, 'rate_limited');
  });

  it('a spoofed X-Forwarded-For from a peer that is not the proxy changes nothing', async () => {
    const server = await serverWith({ RATE_LIMIT_LOGIN_IP: '3/15m', TRUST_PROXY: PROXY });
    const attacker = '198.51.100.77';
    for (let i = 0; i < 3; i++) expectError(await guess(server, uniqueEmail('direct'), { ip: attacker, headers: spoofed() }), 401, 'invalid_credentials');
    expectError(await guess(server, uniqueEmail('direct'), { ip: attacker, headers: spoofed() }), 429, 'rate_limited');
    // Nor can the attacker spend someone else's bucket by writing their address.
    for (let i = 0; i < 3; i++) await guess(server, uniqueEmail('direct'), { ip: '198.51.100.78', headers: { 'x-forwarded-for': '192.0.2.200' } });
    expectError(await guess(server, uniqueEmail('direct'), { ip: PROXY, headers: { 'x-forwarded-for': '192.0.2.200' } }), 401, 'invalid_credentials');
  });
});

const postgresSkip = await skipUnlessPostgres();
const redisSkip = postgresSkip || (await skipUnlessRedis());

for (const [name, skip, redis] of [
  ['two instances behind one proxy, PostgreSQL + Redis', redisSkip, true],
  ['two instances behind one proxy, PostgreSQL only', postgresSkip, false],
] as const) {
  describe(`${name}: the attacker alternates instances and client addresses`, { skip }, () => {
    let a: TestServer;
    let b: TestServer;
    let drop: () => Promise<void>;
    before(async () => {
      const database = await createTestDatabase();
      drop = database.drop;
      const prefix = redisPrefix();
      const env = { LOG_LEVEL: 'warn', RATE_LIMIT_LOGIN_ACCOUNT: '3/15m', RATE_LIMIT_LOGIN_IP: '4/15m', TRUST_PROXY: PROXY };
      a = await startTestServer({ postgres: true, redis, databaseUrl: database.url, redisPrefix: prefix, env });
      b = await startTestServer({ postgres: true, redis, databaseUrl: database.url, redisPrefix: prefix, env });
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await drop?.();
    });

    it('the per-account limit is shared: three failures spread over both instances and three addresses lock the account on both', async () => {
      const { email } = await registerUser(a.app);
      for (let i = 0; i < 3; i++) expectError(await guess(i % 2 ? b : a, email, { ip: PROXY, headers: { 'x-forwarded-for': `192.0.2.${60 + i}` } }), 401, 'invalid_credentials');
      for (const server of [a, b]) {
        expectError(await guess(server, email, { ip: PROXY, headers: { 'x-forwarded-for': '192.0.2.70' } }), 429, 'rate_limited');
        expectError(await guess(server, email, { ip: PROXY, headers: { 'x-forwarded-for': '192.0.2.71' }, password: PASSWORD }), 429, 'rate_limited');
      }
    });

    it('the per-IP limit is shared too, and a spoofed entry before the proxy\'s does not escape it', async () => {
      for (let i = 0; i < 4; i++) {
        expectError(await guess(i % 2 ? b : a, uniqueEmail('shared-ip'), { ip: PROXY, headers: { 'x-forwarded-for': `${spoofed()['x-forwarded-for']}, 192.0.2.80` } }), 401, 'invalid_credentials');
      }
      for (const server of [a, b]) {
        expectError(await guess(server, uniqueEmail('shared-ip'), { ip: PROXY, headers: { 'x-forwarded-for': `${spoofed()['x-forwarded-for']}, 192.0.2.80` } }), 429, 'rate_limited');
      }
    });
  });
}
