// The unit of work (`sqlTransaction`): every store's writes commit together or not at all, on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import type { Stores } from '../../src/context.ts';
import { sha256 } from '../../src/crypto/random.ts';
import { MIGRATION_NAMES, migrateToLatest } from '../../src/db/migrations.ts';
import { describeEachBackend } from './backends.ts';
import { aOneTimeToken, aRefreshToken, aSession, aUser, anApiKey, anAuditEvent, anIdentity, createUser, T0, unique } from './fixtures.ts';

describeEachBackend('Transaction', (backend) => {
  /** Writes one row through every store of `tx`; returns what to look for afterwards. */
  async function writeThroughEveryStore(tx: Stores) {
    const user = aUser();
    assert.ok(await tx.users.create(user));
    const session = aSession(user.id);
    const cookie = sha256(unique('cookie'));
    const refresh = aRefreshToken(session.id);
    await tx.sessions.create({ ...session, mode: 'session' }, { tokenHash: cookie, refresh });
    const ott = aOneTimeToken(user.id, 'verify_email');
    await tx.oneTimeTokens.replace(ott);
    const identity = anIdentity(user.id);
    assert.equal(await tx.identities.link(identity), true);
    const key = anApiKey(user.id);
    await tx.apiKeys.create(key);
    const event = anAuditEvent('register', { userId: user.id, sessionId: session.id });
    await tx.audit.append(event);
    const mailId = await tx.mail.enqueue({ to: user.email, subject: 'Verify', text: 'link', html: 'link' }, T0);
    return { user, session, cookie, refresh, ott, identity, key, event, mailId };
  }

  async function whatIsStored(rows: Awaited<ReturnType<typeof writeThroughEveryStore>>) {
    const { stores, db } = backend();
    return {
      user: await stores.users.findById(rows.user.id),
      session: await stores.sessions.findByTokenHash(rows.cookie),
      refresh: await stores.sessions.findRefreshToken(rows.refresh.hash),
      ott: await stores.oneTimeTokens.findUsable(rows.ott.hash, 'verify_email', T0),
      identity: await stores.identities.find(rows.identity.provider, rows.identity.subject),
      key: await stores.apiKeys.findByPrefix(rows.key.prefix),
      events: (await stores.audit.list({ userId: rows.user.id, limit: 10 })).length,
      mail: (await db.selectFrom('mail_queue').select('id').where('id', '=', rows.mailId).execute()).length,
    };
  }

  it('migrations are re-runnable: a second run applies nothing and every migration is recorded once', async () => {
    const { db } = backend();
    assert.deepEqual((await migrateToLatest(db)).results ?? [], []);
    const applied = await sql<{ name: string }>`select name from gatehouse_migrations`.execute(db);
    assert.deepEqual(applied.rows.map((r) => r.name).sort(), [...MIGRATION_NAMES].sort());
  });

  it('commits the writes of every store together and returns what the work returns', async () => {
    const { transaction } = backend();
    const rows = await transaction(writeThroughEveryStore);
    assert.deepEqual(await whatIsStored(rows), {
      user: rows.user,
      session: { ...rows.session, mode: 'session' },
      refresh: rows.refresh,
      ott: rows.ott,
      identity: rows.identity,
      key: rows.key,
      events: 1,
      mail: 1,
    });
  });

  it('a transaction reads its own writes, and on PostgreSQL nobody else does before it commits', async () => {
    const { transaction, stores, dialect } = backend();
    await transaction(async (tx) => {
      const rows = await writeThroughEveryStore(tx);
      assert.deepEqual(await tx.sessions.findByTokenHashWithUser(rows.cookie), { session: { ...rows.session, mode: 'session' }, user: rows.user });
      assert.equal(await tx.apiKeys.countLive(rows.user.id, T0), 1);
      // SQLite's one connection is this transaction's until it ends: a read outside would wait for it.
      if (dialect === 'postgres') {
        assert.equal(await stores.users.findById(rows.user.id), null);
        assert.equal(await stores.sessions.findByTokenHash(rows.cookie), null);
      }
    });
  });

  it('a read or write outside an open transaction never runs inside it (SQLite: the hot paths\' direct statements wait for it)', async () => {
    const { transaction, stores } = backend();
    const user = aUser();
    const touched = await createUser(stores);
    const session = aSession(touched.id);
    await stores.sessions.create(session, { tokenHash: null, refresh: null });
    let outsideRead: Promise<unknown> | undefined;
    let outsideWrite: Promise<unknown> | undefined;
    const failure = new Error('roll back');
    await assert.rejects(
      transaction(async (tx) => {
        assert.ok(await tx.users.create(user));
        // Fixed statements (raw-query.ts) started while the transaction is open, as another request would.
        outsideRead = stores.users.findById(user.id);
        outsideWrite = stores.sessions.touch(session.id, T0 + 7);
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw failure;
      }),
      (err) => err === failure,
    );
    assert.equal(await outsideRead, null, 'the uncommitted user was not read');
    await outsideWrite;
    assert.equal((await stores.sessions.find(session.id))!.lastUsedAt, T0 + 7, 'the write outside was not rolled back with the transaction');
    assert.equal(await stores.users.findById(user.id), null);
  });

  it('a throw rolls back the writes of every store, and rethrows the same error', async () => {
    const { transaction } = backend();
    let rows: Awaited<ReturnType<typeof writeThroughEveryStore>> | undefined;
    const failure = new Error('the last step failed');
    await assert.rejects(
      transaction(async (tx) => {
        rows = await writeThroughEveryStore(tx);
        throw failure;
      }),
      (err) => err === failure,
    );
    assert.deepEqual(await whatIsStored(rows!), { user: null, session: null, refresh: null, ott: null, identity: null, key: null, events: 0, mail: 0 });
  });

  it('a throw also undoes updates to rows that existed before: revocations, claims, consumed tokens, user changes', async () => {
    const { transaction, stores } = backend();
    const u = await createUser(stores, { name: 'before' });
    const s = aSession(u.id);
    const refresh = aRefreshToken(s.id);
    await stores.sessions.create(s, { tokenHash: null, refresh });
    const ott = aOneTimeToken(u.id, 'reset_password');
    await stores.oneTimeTokens.replace(ott);
    const key = anApiKey(u.id);
    await stores.apiKeys.create(key);
    await assert.rejects(
      transaction(async (tx) => {
        await tx.users.update(u.id, { name: 'after', passwordHash: 'new-hash' }, T0 + 1);
        assert.equal(await tx.oneTimeTokens.consume(ott.hash, 'reset_password', T0 + 1), true);
        assert.equal(await tx.sessions.claimRefreshToken(refresh.hash, T0 + 1), true);
        assert.deepEqual(await tx.sessions.revokeAllOfUser(u.id, 'password_reset', T0 + 1), [s.id]);
        assert.equal(await tx.apiKeys.revoke(u.id, key.id, T0 + 1), true);
        await tx.audit.append(anAuditEvent('password_reset', { userId: u.id }));
        throw new Error('mail could not be queued');
      }),
      /mail could not be queued/,
    );
    assert.deepEqual(await stores.users.findById(u.id), u);
    assert.deepEqual(await stores.oneTimeTokens.findUsable(ott.hash, 'reset_password', T0 + 1), ott);
    assert.deepEqual(await stores.sessions.findRefreshToken(refresh.hash), refresh);
    assert.deepEqual(await stores.sessions.find(s.id), s);
    assert.deepEqual(await stores.apiKeys.findByPrefix(key.prefix), key);
    assert.deepEqual(await stores.audit.list({ userId: u.id, limit: 10 }), []);
  });

  it('a unique violation inside a transaction, followed by a throw, leaves nothing of it', async () => {
    const { transaction, stores } = backend();
    const taken = await createUser(stores);
    const linked = anIdentity(taken.id);
    await stores.identities.link(linked);
    const fresh = aUser();
    await assert.rejects(
      transaction(async (tx) => {
        assert.ok(await tx.users.create(fresh));
        await tx.audit.append(anAuditEvent('register', { userId: fresh.id }));
        // What the registration and social sign-in services do when they lose a race.
        if (!(await tx.users.create(aUser({ email: taken.email })))) throw new Error('email_taken');
      }),
      /email_taken/,
    );
    assert.equal(await stores.users.findById(fresh.id), null);
    assert.equal(await stores.users.findByEmail(fresh.email), null);
    assert.deepEqual(await stores.audit.list({ userId: fresh.id, limit: 10 }), []);
    await assert.rejects(
      transaction(async (tx) => {
        assert.ok(await tx.users.create(fresh));
        if (!(await tx.identities.link({ ...linked, userId: fresh.id }))) throw new Error('lost the race');
      }),
      /lost the race/,
    );
    assert.equal(await stores.users.findById(fresh.id), null);
    assert.deepEqual(await stores.identities.find(linked.provider, linked.subject), linked, 'the existing link is untouched');
    assert.deepEqual(await stores.users.findByEmail(taken.email), taken);
  });
});
