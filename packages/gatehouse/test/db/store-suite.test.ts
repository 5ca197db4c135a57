// One suite for the SQL stores, run against SQLite and a real PostgreSQL.
import { MailSealer } from '../../src/mail/seal.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type DbHandle } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrations.ts';
import { SqlSessionStore } from '../../src/db/session-store.ts';
import { sqlTransaction } from '../../src/db/stores.ts';
import { SqlUserStore } from '../../src/db/user-store.ts';
import { sha256, uuidv7 } from '../../src/crypto/random.ts';
import type { Session } from '../../src/sessions/store.ts';
import type { User } from '../../src/users/store.ts';
import { createTestDatabase, skipUnlessPostgres, tempDataDir } from '../helpers/backends.ts';

const T0 = Date.UTC(2026, 0, 1);

function user(email: string, extra: Partial<User> = {}): User {
  return { id: uuidv7(), email, name: email.split('@')[0]!, role: 'user', passwordHash: null, emailVerifiedAt: null, disabledAt: null, createdAt: T0, updatedAt: T0, lastLoginAt: null, ...extra };
}

function session(userId: string, extra: Partial<Session> = {}): Session {
  return { id: uuidv7(), userId, mode: 'token', createdAt: T0, lastUsedAt: T0, expiresAt: T0 + 86_400_000, revokedAt: null, revokeReason: null, userAgent: 'ua', ip: '127.0.0.1', amr: ['pwd'], authTime: T0, ...extra };
}

function suite(name: string, skip: () => Promise<false | string>, open: () => Promise<{ handle: DbHandle; cleanup(): Promise<void> }>) {
  describe(`stores on ${name}`, async () => {
    const reason = await skip();
    let handle: DbHandle;
    let cleanup: () => Promise<void>;
    let users: SqlUserStore;
    let sessions: SqlSessionStore;
    before(async () => {
      if (reason) return;
      ({ handle, cleanup } = await open());
      await migrateToLatest(handle.db);
      users = new SqlUserStore(handle.db);
      sessions = new SqlSessionStore(handle.db);
    });
    after(async () => {
      if (reason) return;
      await handle.close();
      await cleanup();
    });

    it('migrations are re-runnable', { skip: reason }, async () => {
      const again = await migrateToLatest(handle.db);
      assert.equal(again.results?.length ?? 0, 0);
    });

    it('users: create, unique e-mail, find, update, list with cursor and literal search, delete', { skip: reason }, async () => {
      const a = await users.create(user('ada_b@example.com'));
      assert.ok(a);
      assert.equal(await users.create(user('ada_b@example.com')), null, 'the e-mail is unique');
      const found = await users.findByEmail('ada_b@example.com');
      assert.equal(found!.id, a.id);
      assert.equal(typeof found!.createdAt, 'number', 'times come back as numbers');
      const updated = await users.update(a.id, { name: 'Ada', lastLoginAt: T0 + 5 }, T0 + 5);
      assert.equal(updated!.name, 'Ada');
      assert.equal(updated!.updatedAt, T0 + 5);
      assert.equal(updated!.lastLoginAt, T0 + 5);
      await users.create(user('adaxb@example.com'));
      const literal = await users.list({ q: 'ada_b', limit: 10 });
      assert.deepEqual(literal.map((u) => u.email), ['ada_b@example.com'], '_ is not a wildcard');
      assert.equal((await users.list({ q: 'ADA', limit: 10 })).length, 2, 'case-insensitive, on name and e-mail');
      const page1 = await users.list({ limit: 1 });
      const page2 = await users.list({ limit: 1, afterId: page1[0]!.id });
      assert.notEqual(page1[0]!.id, page2[0]!.id);
      assert.ok(page2[0]!.id > page1[0]!.id);
      assert.equal(await users.delete(a.id), true);
      assert.equal(await users.findById(a.id), null);
      assert.equal(await users.delete(a.id), false);
    });

    it('counts enabled admins only', { skip: reason }, async () => {
      const before = await users.countActiveAdmins();
      await users.create(user('boss1@example.com', { role: 'admin' }));
      await users.create(user('boss2@example.com', { role: 'admin', disabledAt: T0 }));
      assert.equal(await users.countActiveAdmins(), before + 1);
    });

    it('sessions: create with the first refresh token, revoke once, revoke all but one, list live', { skip: reason }, async () => {
      const u = (await users.create(user('sess@example.com')))!;
      const s1 = session(u.id);
      await sessions.create(s1, { tokenHash: null, refresh: { hash: sha256('r1'), sessionId: s1.id, parentHash: null, createdAt: T0, usedAt: null, expiresAt: T0 + 1000 } });
      assert.equal((await sessions.findRefreshToken(sha256('r1')))!.sessionId, s1.id);
      const s2 = session(u.id, { mode: 'session' });
      await sessions.create(s2, { tokenHash: sha256('cookie'), refresh: null });
      assert.equal((await sessions.findByTokenHash(sha256('cookie')))!.id, s2.id);
      const s3 = session(u.id, { expiresAt: T0 - 1 });
      await sessions.create(s3, { tokenHash: null, refresh: null });
      assert.deepEqual((await sessions.listLive(u.id, T0)).map((s) => s.id).sort(), [s1.id, s2.id].sort(), 'expired sessions are not live');

      assert.equal(await sessions.revoke(s1.id, 'logout', T0 + 1), true);
      assert.equal(await sessions.revoke(s1.id, 'logout', T0 + 2), false);
      assert.equal((await sessions.find(s1.id))!.revokeReason, 'logout');
      const s4 = session(u.id);
      await sessions.create(s4, { tokenHash: null, refresh: null });
      const revoked = await sessions.revokeAllOfUser(u.id, 'logout_all', T0 + 3, s4.id);
      assert.deepEqual(revoked.sort(), [s2.id, s3.id].sort());
      assert.equal((await sessions.find(s4.id))!.revokedAt, null);
      assert.ok((await sessions.listRevokedSince(T0 + 1)).includes(s1.id));
    });

    it('sessions: a cookie hash or a refresh token is read with its session and user in one query', { skip: reason }, async () => {
      const u = (await users.create(user('joined@example.com', { role: 'admin' })))!;
      const cookieSession = session(u.id, { mode: 'session' });
      await sessions.create(cookieSession, { tokenHash: sha256('joined-cookie'), refresh: null });
      const byCookie = await sessions.findByTokenHashWithUser(sha256('joined-cookie'));
      assert.deepEqual(byCookie, { session: await sessions.find(cookieSession.id), user: await users.findById(u.id) });
      assert.equal(await sessions.findByTokenHashWithUser(sha256('no-such-cookie')), null);

      const tokenSession = session(u.id);
      const refresh = { hash: sha256('joined-refresh'), sessionId: tokenSession.id, parentHash: null, createdAt: T0, usedAt: null, expiresAt: T0 + 1000 };
      await sessions.create(tokenSession, { tokenHash: null, refresh });
      const byToken = await sessions.findRefreshTokenWithSession(refresh.hash);
      assert.deepEqual(byToken, { token: refresh, session: await sessions.find(tokenSession.id), user: await users.findById(u.id) });
      assert.equal(await sessions.findRefreshTokenWithSession(sha256('no-such-refresh')), null);
    });

    it('refresh tokens: exactly one of 20 concurrent claims wins; successor inserts are idempotent', { skip: reason }, async () => {
      const u = (await users.create(user('race@example.com')))!;
      const s = session(u.id);
      await sessions.create(s, { tokenHash: null, refresh: { hash: 'h-race', sessionId: s.id, parentHash: null, createdAt: T0, usedAt: null, expiresAt: T0 + 1000 } });
      const wins = await Promise.all(Array.from({ length: 20 }, () => sqlTransaction(handle.db, { dialect: handle.dialect, sealer: new MailSealer('store-suite-secret-0123456789abcdef') })((tx) => tx.sessions.claimRefreshToken('h-race', T0 + 1))));
      assert.equal(wins.filter(Boolean).length, 1);
      const successor = { hash: 'h-next', sessionId: s.id, parentHash: 'h-race', createdAt: T0, usedAt: null, expiresAt: T0 + 1000 };
      await Promise.all(Array.from({ length: 5 }, () => sessions.insertRefreshToken(successor)));
      const rows = await handle.db.selectFrom('refresh_tokens').select('hash').where('session_id', '=', s.id).execute();
      assert.equal(rows.length, 2);
    });

    it('a transaction that throws leaves nothing behind', { skip: reason }, async () => {
      const u = (await users.create(user('rollback@example.com')))!;
      const s = session(u.id);
      await sessions.create(s, { tokenHash: null, refresh: { hash: 'h-rb', sessionId: s.id, parentHash: null, createdAt: T0, usedAt: null, expiresAt: T0 + 1000 } });
      await assert.rejects(
        sqlTransaction(handle.db, { dialect: handle.dialect, sealer: new MailSealer('store-suite-secret-0123456789abcdef') })(async (tx) => {
          await tx.sessions.claimRefreshToken('h-rb', T0 + 1);
          await tx.sessions.insertRefreshToken({ hash: 'h-rb-next', sessionId: s.id, parentHash: 'h-rb', createdAt: T0, usedAt: null, expiresAt: T0 + 1000 });
          throw new Error('boom');
        }),
      );
      assert.equal((await sessions.findRefreshToken('h-rb'))!.usedAt, null);
      assert.equal(await sessions.findRefreshToken('h-rb-next'), null);
    });

    it('deleting a user removes their sessions and refresh tokens', { skip: reason }, async () => {
      const u = (await users.create(user('cascade@example.com')))!;
      const s = session(u.id);
      await sessions.create(s, { tokenHash: null, refresh: { hash: 'h-cascade', sessionId: s.id, parentHash: null, createdAt: T0, usedAt: null, expiresAt: T0 + 1000 } });
      await users.delete(u.id);
      assert.equal(await sessions.find(s.id), null);
      assert.equal(await sessions.findRefreshToken('h-cascade'), null);
    });
  });
}

suite('SQLite', async () => false, async () => {
  const data = tempDataDir();
  return { handle: openDatabase({ databaseUrl: null, dataDir: data.dir }), cleanup: async () => data.remove() };
});

suite('PostgreSQL', skipUnlessPostgres, async () => {
  const database = await createTestDatabase();
  return { handle: openDatabase({ databaseUrl: database.url, dataDir: '/nonexistent' }), cleanup: database.drop };
});
