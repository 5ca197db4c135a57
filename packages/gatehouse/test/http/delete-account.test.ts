// Erasing an account (DELETE /auth/me, DELETE /admin/users/:id): afterwards no table holds the user's id or any
// of their addresses, every credential stopped working at once, and the audit trail keeps its events under a
// pseudonym. Run on SQLite and on PostgreSQL with Redis.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { auditPseudonym } from '../../src/users/delete-account.ts';
import { createUser } from '../../src/users/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { skipUnlessPostgres } from '../helpers/backends.ts';
import { fullAccount } from '../helpers/full-account.ts';
import { PASSWORD, call, expectError, login, uniqueEmail } from '../helpers/http.ts';

/** Every row of every table (as test/security/snapshot.ts finds them) that mentions one of `needles`. */
async function rowsMentioning(server: TestServer, needles: string[]): Promise<string[]> {
  const db = server.runtime.database.db;
  const tables = (await db.introspection.getTables()).map((t) => t.name).filter((name) => !name.startsWith('sqlite_'));
  assert.ok(tables.includes('users') && tables.includes('audit_events'));
  const found: string[] = [];
  for (const table of tables) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db)).rows;
    for (const row of rows) {
      const text = JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)).toLowerCase();
      for (const needle of needles) if (text.includes(needle.toLowerCase())) found.push(`${table}: ${text.slice(0, 200)}`);
    }
  }
  return found;
}

/** The addresses the account ever had or asked for, from its rows before the erasure. */
async function addressesOf(server: TestServer, userId: string, email: string): Promise<string[]> {
  const rows = await server.runtime.database.db.selectFrom('one_time_tokens').select('email').where('user_id', '=', userId).execute();
  return [email, ...rows.map((r) => r.email).filter((e): e is string => e !== null)];
}

for (const backend of [{ name: 'SQLite, memory state' }, { name: 'PostgreSQL, Redis', postgres: true, redis: true }]) {
  describe(`account erasure (${backend.name})`, () => {
    let server: TestServer;
    let admin: { id: string; token: string };
    let skip: string | false = false;

    before(async () => {
      if (backend.postgres) skip = await skipUnlessPostgres();
      if (skip) return;
      server = await startTestServer({ fakeClock: Date.UTC(2026, 4, 1), postgres: backend.postgres, redis: backend.redis });
      const email = uniqueEmail('admin');
      await createUser(server.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true });
      const signedIn = await login(server.app, email);
      admin = { id: signedIn.body.user.id, token: signedIn.body.accessToken };
    });
    after(() => server?.close());

    it('DELETE /auth/me leaves no row with the id or an address, ends every credential, keeps a pseudonymous trail', async (t) => {
      if (skip) return t.skip(skip);
      const account = await fullAccount(server, () => server.clock!.now);
      // The admin acting on the account leaves its id in the admin's events too (`by` is the admin there).
      assert.equal((await call(server.app, 'POST', `/admin/users/${account.id}/sign-out`, { token: admin.token })).statusCode, 200);
      const fresh = await login(server.app, account.email, PASSWORD);
      assert.ok(fresh.body.mfaRequired, 'the account has a second factor');
      const signedIn = (await server.runtime.ctx.sessions.listLive(account.id, server.clock!.now)).length;
      assert.equal(signedIn, 0);
      // A live session to delete from: the API key cannot (a person must), so sign in through the factor.
      const apiKeyRow = await server.runtime.database.db.selectFrom('api_keys').select('id').where('user_id', '=', account.id).executeTakeFirstOrThrow();
      assert.ok(apiKeyRow.id);
      const needles = [account.id, ...(await addressesOf(server, account.id, account.email))];
      assert.ok((await rowsMentioning(server, needles)).length > 10);

      const token = await signInWithRecoveryCode(server, fresh.body.mfaTicket, account.secrets.at(-1)!);
      const res = await call(server.app, 'DELETE', '/auth/me', { token });
      assert.equal(res.statusCode, 204, res.body);
      await server.runtime.ctx.background.drain();

      assert.deepEqual(await rowsMentioning(server, needles), []);
      expectError(await call(server.app, 'GET', '/auth/me', { token }), 401, 'token_revoked');
      for (const secret of account.secrets.filter((s) => s.startsWith('gh_'))) expectError(await call(server.app, 'GET', '/auth/me', { token: secret }), 401, 'invalid_token');
      const refresh = account.secrets.filter((s) => s.startsWith('ghr_')).at(-1)!;
      expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: refresh } }), 401, 'invalid_refresh_token');
      expectError(await call(server.app, 'POST', '/auth/login', { body: { email: account.email, password: PASSWORD } }), 401, 'invalid_credentials');

      const pseudonym = auditPseudonym(server.config.secret, account.id);
      const trail = await server.runtime.ctx.audit.list({ userId: pseudonym, limit: 500 });
      const types = trail.map((e) => e.type);
      for (const type of ['register', 'login_ok', 'mfa_enrolled', 'user_signed_out', 'user_deleted'] as const) assert.ok(types.includes(type), `${type} in ${types.join()}`);
      assert.ok(trail.every((e) => e.ip === null && e.userAgent === null), 'no IP or device of the erased person');
      const erased = trail.find((e) => e.type === 'user_deleted')!;
      assert.deepEqual(erased.detail, { by: pseudonym, self: true });
    });

    it('DELETE /admin/users/:id erases the same way', async (t) => {
      if (skip) return t.skip(skip);
      const email = uniqueEmail('byadmin');
      const user = await createUser(server.runtime.ctx, { email, password: PASSWORD, emailVerified: true });
      const signedIn = await login(server.app, email);
      const res = await call(server.app, 'DELETE', `/admin/users/${user.id}`, { token: admin.token });
      assert.equal(res.statusCode, 204, res.body);
      assert.deepEqual(await rowsMentioning(server, [user.id, email]), []);
      expectError(await call(server.app, 'GET', '/auth/me', { token: signedIn.body.accessToken }), 401, 'token_revoked');
      const [erased] = await server.runtime.ctx.audit.list({ userId: auditPseudonym(server.config.secret, user.id), type: 'user_deleted', limit: 1 });
      assert.deepEqual(erased?.detail, { by: admin.id, self: false });
      expectError(await call(server.app, 'DELETE', `/admin/users/${user.id}`, { token: admin.token }), 404, 'not_found');
    });

    it('refuses 409 to erase the last enabled admin, and changes nothing', async (t) => {
      if (skip) return t.skip(skip);
      const admins = await server.runtime.ctx.users.countActiveAdmins();
      assert.equal(admins, 1);
      expectError(await call(server.app, 'DELETE', '/auth/me', { token: admin.token }), 409, 'conflict');
      assert.ok(await server.runtime.ctx.users.findById(admin.id));
      assert.equal((await call(server.app, 'GET', '/auth/me', { token: admin.token })).statusCode, 200, 'still signed in');
    });

    it('needs a recent sign-in', async (t) => {
      if (skip) return t.skip(skip);
      const email = uniqueEmail('stale');
      await createUser(server.runtime.ctx, { email, password: PASSWORD, emailVerified: true });
      const signedIn = await login(server.app, email);
      server.clock!.advance(server.config.reauthMaxAgeMs + 1000);
      expectError(await call(server.app, 'DELETE', '/auth/me', { token: signedIn.body.accessToken }), 403, 'reauthentication_required');
      assert.ok(await server.runtime.ctx.users.findByEmail(email));
    });
  });
}

async function signInWithRecoveryCode(server: TestServer, mfaTicket: string, recoveryCode: string): Promise<string> {
  const res = await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket, recoveryCode } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().accessToken;
}
