// Rate limits per account and per IP, and who counts as "the IP" behind a proxy.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PASSWORD, call, expectError, registerUser } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';

const servers: TestServer[] = [];
async function serverWith(env: Record<string, string>, fakeClock?: number) {
  const server = await startTestServer({ env, fakeClock });
  servers.push(server);
  return server;
}
after(async () => {
  for (const s of servers) await s.close();
});

describe('login limits', () => {
  it('locks an account after RATE_LIMIT_LOGIN_ACCOUNT failures, even for the right password, with Retry-After', async () => {
    const server = await serverWith({ RATE_LIMIT_LOGIN_ACCOUNT: '3/15m' }, Date.UTC(2026, 0, 1));
    const { email } = await registerUser(server.app);
    for (let i = 0; i < 3; i++) {
      expectError(await call(server.app, 'POST', '/auth/login', { body: { email, password: 'wrong password!' }, ip: `10.0.0.${i}` }), 401, 'invalid_credentials');
    }
    const locked = await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD }, ip: '10.0.0.99' });
    expectError(locked, 429, 'rate_limited');
    const retryAfter = Number(locked.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 900, `Retry-After ${retryAfter}`);
    server.clock!.advance(15 * 60_000 + 1);
    assert.equal((await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD } })).statusCode, 200);
  });

  it('a successful login resets the account counter', async () => {
    const server = await serverWith({ RATE_LIMIT_LOGIN_ACCOUNT: '3/15m' });
    const { email } = await registerUser(server.app);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) await call(server.app, 'POST', '/auth/login', { body: { email, password: 'wrong password!' } });
      assert.equal((await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD } })).statusCode, 200);
    }
  });

  it('limits failed logins per IP across many accounts', async () => {
    const server = await serverWith({ RATE_LIMIT_LOGIN_IP: '4/15m' });
    for (let i = 0; i < 4; i++) {
      await call(server.app, 'POST', '/auth/login', { body: { email: `nobody${i}@example.com`, password: 'wrong password!' }, ip: '10.1.1.1' });
    }
    expectError(await call(server.app, 'POST', '/auth/login', { body: { email: 'other@example.com', password: 'x'.repeat(10) }, ip: '10.1.1.1' }), 429, 'rate_limited');
    expectError(await call(server.app, 'POST', '/auth/login', { body: { email: 'other@example.com', password: 'x'.repeat(10) }, ip: '10.1.1.2' }), 401, 'invalid_credentials');
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY names the proxy', async () => {
    const untrusted = await serverWith({ RATE_LIMIT_LOGIN_IP: '2/15m' });
    for (let i = 0; i < 2; i++) {
      await call(untrusted.app, 'POST', '/auth/login', { body: { email: `x${i}@example.com`, password: 'wrong password!' }, headers: { 'x-forwarded-for': `203.0.113.${i}` } });
    }
    const spoofed = await call(untrusted.app, 'POST', '/auth/login', { body: { email: 'y@example.com', password: 'wrong password!' }, headers: { 'x-forwarded-for': '203.0.113.77' } });
    expectError(spoofed, 429, 'rate_limited');

    const behindProxy = await serverWith({ RATE_LIMIT_LOGIN_IP: '2/15m', TRUST_PROXY: '127.0.0.1' });
    for (let i = 0; i < 2; i++) {
      await call(behindProxy.app, 'POST', '/auth/login', { body: { email: `x${i}@example.com`, password: 'wrong password!' }, headers: { 'x-forwarded-for': '203.0.113.1' } });
    }
    expectError(await call(behindProxy.app, 'POST', '/auth/login', { body: { email: 'z@example.com', password: 'wrong password!' }, headers: { 'x-forwarded-for': '203.0.113.1' } }), 429, 'rate_limited');
    // Another client behind the same proxy has its own bucket.
    expectError(await call(behindProxy.app, 'POST', '/auth/login', { body: { email: 'z@example.com', password: 'wrong password!' }, headers: { 'x-forwarded-for': '203.0.113.2' } }), 401, 'invalid_credentials');
  });

  it('behind a proxy counted in hops, the client address is the one the proxy appended, not one a client wrote', async () => {
    const server = await serverWith({ RATE_LIMIT_LOGIN_IP: '2/15m', TRUST_PROXY: '1' });
    // The attacker writes a fresh address each time; the proxy appends the real one at the end.
    for (let i = 0; i < 2; i++) {
      await call(server.app, 'POST', '/auth/login', { body: { email: `h${i}@example.com`, password: 'wrong password!' }, headers: { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.9` } });
    }
    const rotated = await call(server.app, 'POST', '/auth/login', { body: { email: 'h9@example.com', password: 'wrong password!' }, headers: { 'x-forwarded-for': '198.51.100.99, 203.0.113.9' } });
    expectError(rotated, 429, 'rate_limited');
  });

  it('counts an IPv6 client by its /64, so rotating addresses inside it gains nothing', async () => {
    const server = await serverWith({ RATE_LIMIT_LOGIN_IP: '3/15m' });
    for (let i = 1; i <= 3; i++) {
      await call(server.app, 'POST', '/auth/login', { body: { email: `v6${i}@example.com`, password: 'wrong password!' }, ip: `2001:db8:1:2::${i.toString(16)}` });
    }
    const sameNetwork = await call(server.app, 'POST', '/auth/login', { body: { email: 'v6x@example.com', password: 'wrong password!' }, ip: '2001:db8:1:2:ffff:ffff:ffff:fffe' });
    expectError(sameNetwork, 429, 'rate_limited');
    const otherNetwork = await call(server.app, 'POST', '/auth/login', { body: { email: 'v6x@example.com', password: 'wrong password!' }, ip: '2001:db8:1:3::1' });
    expectError(otherNetwork, 401, 'invalid_credentials');
  });
});

describe('sign-up and request limits', () => {
  it('limits registrations per IP', async () => {
    const server = await serverWith({ RATE_LIMIT_SIGNUP_IP: '2/1h' });
    await registerUser(server.app);
    await registerUser(server.app);
    const third = await call(server.app, 'POST', '/auth/register', { body: { email: 'third@example.com', password: PASSWORD } });
    expectError(third, 429, 'rate_limited');
    assert.ok(Number(third.headers['retry-after']) > 0);
    assert.equal(await server.runtime.ctx.users.findByEmail('third@example.com'), null);
  });

  it('counts only well-formed sign-ups: typos do not lock an address out of sign-up and forgot-password', async () => {
    const server = await serverWith({ RATE_LIMIT_SIGNUP_IP: '2/1h' });
    const typos = [{ email: 'not-an-address', password: PASSWORD }, { email: 'ok@example.com', password: 'short' }, { email: 'ok@example.com', password: 'password' }];
    for (let i = 0; i < 5; i++) expectError(await call(server.app, 'POST', '/auth/register', { body: typos[i % typos.length] }), 400, 'validation_failed');
    await registerUser(server.app);
    assert.equal((await call(server.app, 'POST', '/auth/forgot-password', { body: { email: 'ok@example.com' } })).statusCode, 202);
    expectError(await call(server.app, 'POST', '/auth/register', { body: { email: 'late@example.com', password: PASSWORD } }), 429, 'rate_limited');
  });

  it('limits every request per IP, but never the health checks', async () => {
    const server = await serverWith({ RATE_LIMIT_IP: '3/1m' });
    for (let i = 0; i < 3; i++) assert.equal((await call(server.app, 'GET', '/.well-known/jwks.json')).statusCode, 200);
    expectError(await call(server.app, 'GET', '/.well-known/jwks.json'), 429, 'rate_limited');
    assert.equal((await call(server.app, 'GET', '/health')).statusCode, 200);
    assert.equal((await call(server.app, 'GET', '/.well-known/jwks.json', { ip: '127.0.0.2' })).statusCode, 200);
  });
});
