// GET /auth/export holds everything about the caller and no secret: not one hash, sealed secret, key or token
// of the caller's rows, nor any secret the caller was ever handed, appears anywhere in the document.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { call, expectError, registerUser } from '../helpers/http.ts';
import { fullAccount } from '../helpers/full-account.ts';

let server: TestServer;

before(async () => {
  server = await startTestServer({ fakeClock: Date.UTC(2026, 4, 1) });
});
after(() => server.close());

/** Every value of every secret-bearing column in the user's rows. */
async function secretColumnValues(userId: string): Promise<string[]> {
  const db = server.runtime.database.db;
  const queries = [
    sql<{ v: string | null }>`select password_hash as v from users where id = ${userId}`,
    sql<{ v: string | null }>`select token_hash as v from sessions where user_id = ${userId}`,
    sql<{ v: string | null }>`select r.hash as v from refresh_tokens r join sessions s on s.id = r.session_id where s.user_id = ${userId}`,
    sql<{ v: string | null }>`select r.parent_hash as v from refresh_tokens r join sessions s on s.id = r.session_id where s.user_id = ${userId}`,
    sql<{ v: string | null }>`select hash as v from one_time_tokens where user_id = ${userId}`,
    sql<{ v: string | null }>`select hash as v from api_keys where user_id = ${userId}`,
    sql<{ v: string | null }>`select secret as v from mfa_factors where user_id = ${userId}`,
    sql<{ v: string | null }>`select hash as v from recovery_codes where user_id = ${userId}`,
  ];
  const values: string[] = [];
  for (const query of queries) for (const row of (await query.execute(db)).rows) if (row.v) values.push(row.v);
  return values;
}

describe('GET /auth/export', () => {
  it('holds the profile, sessions, identities, factors, API keys and audit events, and no secret at all', async () => {
    const account = await fullAccount(server, () => server.clock!.now);
    const res = await call(server.app, 'GET', '/auth/export', { token: account.accessToken });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const doc = res.json();
    assert.equal(doc.user.id, account.id);
    assert.equal(doc.user.email, account.email);
    assert.equal(doc.user.hasPassword, true);
    assert.equal(doc.sessions.length, 3, 'the sign-up (its refresh token rotated), a session-mode and a cookie-mode sign-in');
    assert.ok(doc.sessions.some((s: { current: boolean }) => s.current));
    assert.deepEqual(doc.identities.map((i: { provider: string }) => i.provider), ['github']);
    assert.equal(doc.factors.length, 1);
    assert.equal(doc.factors[0].type, 'totp');
    assert.equal(doc.recoveryCodesLeft, 10);
    assert.equal(doc.apiKeys.length, 1);
    assert.ok(doc.apiKeys[0].prefix);
    const types = new Set(doc.auditEvents.map((e: { type: string }) => e.type));
    for (const type of ['register', 'login_ok', 'api_key_created', 'mfa_enrolled', 'email_change_requested']) assert.ok(types.has(type), `${type} in ${[...types].join()}`);
    assert.deepEqual(doc.connectedApps, []);

    const columns = await secretColumnValues(account.id);
    assert.ok(columns.length >= 20, `found ${columns.length} secret column values`);
    for (const secret of [...columns, ...account.secrets]) {
      assert.ok(secret.length >= 6);
      assert.ok(!res.body.includes(secret), `the export holds a secret: ${secret.slice(0, 12)}…`);
    }
    // Nor anything shaped like one: no hash-looking field names.
    assert.doesNotMatch(res.body, /"(passwordHash|password_hash|hash|secret|publicKey|tokenHash|key)"\s*:/);
    const exported = await server.runtime.ctx.audit.list({ userId: account.id, type: 'account_exported', limit: 1 });
    assert.equal(exported.length, 1);
  });

  it('needs a recent sign-in, and a person (not an API key)', async () => {
    const { body } = await registerUser(server.app);
    const key = await call(server.app, 'POST', '/auth/api-keys', { token: body.accessToken, body: { name: 'no export' } });
    expectError(await call(server.app, 'GET', '/auth/export', { token: key.json().key }), 403, 'forbidden');
    server.clock!.advance(server.config.reauthMaxAgeMs + 1000);
    expectError(await call(server.app, 'GET', '/auth/export', { token: body.accessToken }), 403, 'reauthentication_required');
  });
});
