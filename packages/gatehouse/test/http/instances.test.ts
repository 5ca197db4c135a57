// Two instances on one PostgreSQL, with Redis and without it (shared state then lives in PostgreSQL): what one
// does, the other honours at the next request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, expectError, registerUser } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { createTestDatabase, redisPrefix, skipUnlessPostgres, skipUnlessRedis } from '../helpers/backends.ts';

const postgresSkip = await skipUnlessPostgres();
const redisSkip = postgresSkip || (await skipUnlessRedis());

twoInstances('two instances on PostgreSQL + Redis', redisSkip, true);
twoInstances('two instances on PostgreSQL without Redis', postgresSkip, false);

function twoInstances(name: string, skip: false | string, redis: boolean) {
  describe(name, { skip }, () => {
    let a: TestServer;
    let b: TestServer;
    let drop: () => Promise<void>;
    before(async () => {
      const database = await createTestDatabase();
      drop = database.drop;
      const prefix = redisPrefix();
      const env = { RATE_LIMIT_LOGIN_ACCOUNT: '3/15m', RATE_LIMIT_IP: '40/1m' };
      a = await startTestServer({ postgres: true, redis, databaseUrl: database.url, redisPrefix: prefix, env });
      b = await startTestServer({ postgres: true, redis, databaseUrl: database.url, redisPrefix: prefix, env });
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

    it('the per-IP request limit is one bucket across both instances', async () => {
      const ip = '10.1.2.3';
      for (let i = 0; i < 40; i++) {
        const res = await call(i % 2 ? a.app : b.app, 'GET', '/.well-known/jwks.json', { ip });
        assert.equal(res.statusCode, 200, `request ${i + 1}`);
      }
      expectError(await call(a.app, 'GET', '/.well-known/jwks.json', { ip }), 429, 'rate_limited');
      expectError(await call(b.app, 'GET', '/.well-known/jwks.json', { ip }), 429, 'rate_limited');
      assert.equal((await call(b.app, 'GET', '/.well-known/jwks.json', { ip: '10.1.2.4' })).statusCode, 200, 'another client has its own bucket');
    });

    it('a logout is in the shared revocation set that both instances read', async () => {
      const { body } = await registerUser(a.app);
      assert.equal((await call(a.app, 'POST', '/auth/logout', { token: body.accessToken })).statusCode, 204);
      if (!redis) {
        // Without Redis, the revocation set is a table: it is the same one after a restart, not a reload.
        const rows = await a.runtime.database.db.selectFrom('shared_state').select('key').where('key', 'like', 'rev:%').execute();
        assert.ok(rows.length >= 1, 'the revocation is in PostgreSQL');
      }
      expectError(await call(b.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'token_revoked');
    });

    it(`readiness reports the database${redis ? ' and Redis' : ''} as reachable`, async () => {
      assert.equal((await call(a.app, 'GET', '/ready')).statusCode, 200);
    });
  });
}
