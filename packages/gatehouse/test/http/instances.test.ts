// Two instances on one PostgreSQL and one Redis: what one does, the other honours at the next request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, expectError, registerUser } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { createTestDatabase, redisPrefix, skipUnlessPostgres, skipUnlessRedis } from '../helpers/backends.ts';

const skip = (await skipUnlessPostgres()) || (await skipUnlessRedis());

describe('two instances on PostgreSQL + Redis', { skip }, () => {
  let a: TestServer;
  let b: TestServer;
  let drop: () => Promise<void>;
  before(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    const prefix = redisPrefix();
    const env = { RATE_LIMIT_LOGIN_ACCOUNT: '3/15m' };
    a = await startTestServer({ postgres: true, redis: true, databaseUrl: database.url, redisPrefix: prefix, env });
    b = await startTestServer({ postgres: true, redis: true, databaseUrl: database.url, redisPrefix: prefix, env });
  });
  after(async () => {
    await a.close();
    await b.close();
    await drop();
  });

  it('a user made on one instance logs in and refreshes on the other', async () => {
    const { body } = await registerUser(a.app);
    assert.equal((await call(b.app, 'GET', '/auth/me', { token: body.accessToken })).statusCode, 200);
    const refreshed = await call(b.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } });
    assert.equal(refreshed.statusCode, 200);
  });

  it('logout on one instance is refused on the other at the next request', async () => {
    const { body } = await registerUser(a.app);
    assert.equal((await call(b.app, 'POST', '/auth/logout', { token: body.accessToken })).statusCode, 204);
    expectError(await call(a.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'token_revoked');
  });

  it('the failed-login limit is shared', async () => {
    const { email } = await registerUser(a.app);
    await call(a.app, 'POST', '/auth/login', { body: { email, password: 'wrong password!' } });
    await call(b.app, 'POST', '/auth/login', { body: { email, password: 'wrong password!' } });
    await call(a.app, 'POST', '/auth/login', { body: { email, password: 'wrong password!' } });
    expectError(await call(b.app, 'POST', '/auth/login', { body: { email, password: 'correct horse battery staple' } }), 429, 'rate_limited');
  });

  it('readiness reports the database and Redis as reachable', async () => {
    assert.equal((await call(a.app, 'GET', '/ready')).statusCode, 200);
  });
});
