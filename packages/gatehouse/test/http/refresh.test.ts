// Refresh rotation under concurrency, reuse detection and the reuse grace, on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, expectError, registerUser } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { skipUnlessPostgres, skipUnlessRedis } from '../helpers/backends.ts';
import { sha256 } from '../../src/crypto/random.ts';

const backends: Array<{ name: string; skip: () => Promise<false | string>; options: { postgres?: boolean; redis?: boolean } }> = [
  { name: 'SQLite + memory state', skip: async () => false, options: {} },
  { name: 'PostgreSQL + Redis', skip: async () => (await skipUnlessPostgres()) || (await skipUnlessRedis()), options: { postgres: true, redis: true } },
];

for (const backend of backends) {
  describe(`refresh rotation on ${backend.name}`, { skip: await backend.skip() }, () => {
    let server: TestServer;
    const start = Date.UTC(2026, 0, 1);
    before(async () => {
      server = await startTestServer({ ...backend.options, fakeClock: start });
    });
    after(() => server.close());

    it('20 concurrent refreshes of one token yield one live successor and never log the user out', async () => {
      const { body } = await registerUser(server.app);
      const results = await Promise.all(
        Array.from({ length: 20 }, () => call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } })),
      );
      for (const res of results) assert.equal(res.statusCode, 200, res.body);
      const successors = new Set(results.map((r) => r.json().refreshToken));
      assert.equal(successors.size, 1, 'every caller got the same successor');
      const [successor] = [...successors] as [string];

      // Exactly one unused token in the family: the successor.
      const sessionId = (await server.runtime.ctx.sessions.findRefreshToken(sha256(body.refreshToken)))!.sessionId;
      const db = server.runtime.database.db;
      const live = await db.selectFrom('refresh_tokens').select('hash').where('session_id', '=', sessionId).where('used_at', 'is', null).execute();
      assert.deepEqual(live.map((r) => r.hash), [sha256(successor)]);

      const next = await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: successor } });
      assert.equal(next.statusCode, 200, next.body);
    });

    it('within the grace, a just-rotated token returns the same successor again', async () => {
      const { body } = await registerUser(server.app);
      const first = (await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } })).json();
      server.clock!.advance(5_000);
      const again = await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } });
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.json().refreshToken, first.refreshToken);
    });

    it('after the grace, reuse revokes the whole session, its access tokens included', async () => {
      const { body } = await registerUser(server.app);
      const first = (await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } })).json();
      server.clock!.advance(11_000);
      expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } }), 401, 'refresh_token_reused');
      // The attacker's (or victim's) successor dies with the session, and so do access tokens of the session.
      expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: first.refreshToken } }), 401, 'invalid_refresh_token');
      expectError(await call(server.app, 'GET', '/auth/me', { token: first.accessToken }), 401, 'token_revoked');
      expectError(await call(server.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'token_revoked');
    });

    it('a replay of an older generation is reuse even inside the grace of a later rotation', async () => {
      const { body } = await registerUser(server.app);
      const first = (await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } })).json();
      server.clock!.advance(1_000);
      const second = (await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: first.refreshToken } })).json();
      assert.ok(second.refreshToken);
      // body.refreshToken's successor (first) is already used: handing it out again would help a thief.
      expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } }), 401, 'refresh_token_reused');
      expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: second.refreshToken } }), 401, 'invalid_refresh_token');
    });

    it('an expired access token is token_expired; an expired refresh token is invalid', async () => {
      const { body } = await registerUser(server.app);
      // Used once before expiry, so the second check is answered from the verified-token cache.
      assert.equal((await call(server.app, 'GET', '/auth/me', { token: body.accessToken })).statusCode, 200);
      server.clock!.advance(15 * 60_000 + 1000);
      expectError(await call(server.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'token_expired');
      const refreshed = await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } });
      assert.equal(refreshed.statusCode, 200);
      server.clock!.advance(7 * 24 * 3_600_000 + 1000);
      expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: refreshed.json().refreshToken } }), 401, 'invalid_refresh_token');
    });
  });
}
