// Signing algorithms and key rotation as seen through the API.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { call, expectError, login, registerUser } from '../helpers/http.ts';
import { startTestServer } from '../helpers/app.ts';

describe('JWT_ALG', () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA', 'HS256'] as const) {
    it(`${alg}: tokens are signed with it and accepted`, async () => {
      const server = await startTestServer({ env: { JWT_ALG: alg, ...(alg === 'HS256' ? { JWT_SECRET: 'hs256-test-secret-0123456789-abcdefghij' } : {}) } });
      try {
        const { body } = await registerUser(server.app);
        assert.equal(decodeProtectedHeader(body.accessToken).alg, alg);
        assert.equal((await call(server.app, 'GET', '/auth/me', { token: body.accessToken })).statusCode, 200);
        const jwks = (await call(server.app, 'GET', '/.well-known/jwks.json')).json();
        if (alg === 'HS256') assert.deepEqual(jwks.keys, [], 'a shared secret is never published');
        else assert.equal(jwks.keys[0].alg, alg);
      } finally {
        await server.close();
      }
    });
  }

  it('a token from another server (another key) is refused', async () => {
    const a = await startTestServer();
    const b = await startTestServer();
    try {
      const { body } = await registerUser(a.app);
      expectError(await call(b.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'invalid_token');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('key rotation', () => {
  it('publishes the new key at once, signs with it KEY_ACTIVATION_DELAY later, and keeps honouring the old one', async () => {
    const server = await startTestServer({ fakeClock: Date.UTC(2026, 0, 1), env: { KEY_ACTIVATION_DELAY: '3s' } });
    try {
      const { email, body } = await registerUser(server.app);
      const oldKid = decodeProtectedHeader(body.accessToken).kid;
      const rotated = await server.runtime.ctx.keyRing.rotate();
      const jwks = (await call(server.app, 'GET', '/.well-known/jwks.json')).json();
      assert.deepEqual(jwks.keys.map((k: { kid: string }) => k.kid).sort(), [oldKid, rotated.kid].sort());
      // Published but not signing yet: verifiers get the chance to fetch it first.
      const early = await login(server.app, email);
      assert.equal(decodeProtectedHeader(early.body.accessToken).kid, oldKid);
      server.clock!.advance(3000);
      const fresh = await login(server.app, email);
      assert.equal(decodeProtectedHeader(fresh.body.accessToken).kid, rotated.kid);
      assert.equal((await call(server.app, 'GET', '/auth/me', { token: body.accessToken })).statusCode, 200);
      assert.equal((await call(server.app, 'GET', '/auth/me', { token: fresh.body.accessToken })).statusCode, 200);
    } finally {
      await server.close();
    }
  });

  it('another instance on the same database verifies tokens signed by a key it has not loaded yet', async () => {
    // No activation delay: the new key signs at once, before b has reloaded (the worst case).
    const a = await startTestServer({ env: { KEY_ACTIVATION_DELAY: '0s' } });
    const b = await startTestServer({ dataDir: a.config.dataDir });
    try {
      await a.runtime.ctx.keyRing.rotate();
      const { body } = await registerUser(a.app);
      // b learns of the new kid on first sight of it, without a restart.
      assert.equal((await call(b.app, 'GET', '/auth/me', { token: body.accessToken })).statusCode, 200);
    } finally {
      await b.close();
      await a.close();
    }
  });
});
