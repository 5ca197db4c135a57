// UserStore contract, on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { uuidv7 } from '../../src/crypto/random.ts';
import type { Db } from '../../src/db/schema.ts';
import { describeEachBackend } from './backends.ts';
import { anApiKey, aOneTimeToken, aRefreshToken, aSession, aUser, anIdentity, createUser, T0, unique } from './fixtures.ts';

/** Resolves once some backend of this database waits on a row lock; fails if `settled()` turns true first. */
async function waitForLockWait(db: Db, settled: () => boolean): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (settled()) throw new Error('the second lock() returned while the first transaction still held the row');
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
    if (rows[0]!.n > 0) return;
  }
  throw new Error('the second lock() never waited on the row lock');
}

describeEachBackend('UserStore', (backend) => {
  it('create returns the user, and findById and findByEmail read back every field as stored', async () => {
    const { users } = backend().stores;
    const input = aUser({ email: `${unique('Mixed.Case')}@Example.com`, role: 'admin', passwordHash: '$argon2id$v=19$x', emailVerifiedAt: T0 + 1, lastLoginAt: T0 + 2, updatedAt: T0 + 3 });
    assert.deepEqual(await users.create(input), input);
    assert.deepEqual(await users.findById(input.id), input, 'times are numbers, nulls stay null');
    assert.deepEqual(await users.findByEmail(input.email), input, 'the e-mail is matched and returned as stored');
    assert.equal(await users.findById(uuidv7(T0)), null);
    assert.equal(await users.findByEmail(`${unique('nobody')}@example.com`), null);
  });

  it('create returns null when the e-mail (as stored) is taken, and writes nothing', async () => {
    const { users } = backend().stores;
    const first = await createUser(backend().stores, { name: 'first' });
    const second = aUser({ email: first.email, name: 'second' });
    assert.equal(await users.create(second), null);
    assert.equal(await users.findById(second.id), null);
    assert.equal((await users.findByEmail(first.email))!.name, 'first', 'the first account is untouched');
  });

  it('update changes only the patched fields, stamps updatedAt, clears with null, and is null for an unknown id', async () => {
    const { users } = backend().stores;
    const u = await createUser(backend().stores, { passwordHash: 'old-hash', disabledAt: T0 });
    const updated = await users.update(u.id, { name: 'Renamed', passwordHash: null, disabledAt: null, lastLoginAt: T0 + 7 }, T0 + 9);
    const expected = { ...u, name: 'Renamed', passwordHash: null, disabledAt: null, lastLoginAt: T0 + 7, updatedAt: T0 + 9 };
    assert.deepEqual(updated, expected);
    assert.deepEqual(await users.findById(u.id), expected);
    assert.deepEqual(await users.update(u.id, { role: 'admin', emailVerifiedAt: T0 + 10 }, T0 + 11), { ...expected, role: 'admin', emailVerifiedAt: T0 + 10, updatedAt: T0 + 11 });
    assert.equal(await users.update(uuidv7(T0), { name: 'ghost' }, T0), null);
  });

  it('lock reads the user without changing it, and is null for an unknown id', async () => {
    const { stores, transaction } = backend();
    const u = await createUser(stores);
    assert.deepEqual(await stores.users.lock(u.id), u);
    assert.deepEqual(await transaction((tx) => tx.users.lock(u.id)), u);
    assert.deepEqual(await stores.users.findById(u.id), u, 'updatedAt is not moved by a lock');
    assert.equal(await transaction((tx) => tx.users.lock(uuidv7(T0))), null);
  });

  it('lock inside a transaction holds the row: a second lock waits until the first commits and sees its change', async () => {
    const { stores, transaction, dialect, db } = backend();
    const u = await createUser(stores, { name: 'before' });
    const events: string[] = [];
    let allowCommit!: () => void;
    const mayCommit = new Promise<void>((resolve) => (allowCommit = resolve));
    let firstHolds!: () => void;
    const holding = new Promise<void>((resolve) => (firstHolds = resolve));

    const first = transaction(async (tx) => {
      await tx.users.lock(u.id);
      firstHolds();
      await mayCommit;
      await tx.users.update(u.id, { name: 'after' }, T0 + 1);
      events.push('first commits');
    });
    await holding;
    let secondDone = false;
    const second = transaction(async (tx) => {
      const seen = await tx.users.lock(u.id);
      events.push('second holds');
      return seen;
    }).finally(() => (secondDone = true));
    // PostgreSQL: the second transaction must be waiting on the row, not merely queued behind us. SQLite has one
    // connection and one writer, so the second transaction cannot start before the first ends.
    try {
      if (dialect === 'postgres') await waitForLockWait(db, () => secondDone);
      else await new Promise((resolve) => setImmediate(resolve));
    } finally {
      allowCommit();
    }
    await first;
    const seen = await second;
    assert.deepEqual(events, ['first commits', 'second holds']);
    assert.equal(seen!.name, 'after', 'the second holder reads the committed row');
  });

  it('delete is true once, and takes the user\'s sessions, refresh tokens, one-time tokens, identities and API keys with it', async () => {
    const { stores, db } = backend();
    const u = await createUser(stores);
    const other = await createUser(stores);
    const s = aSession(u.id);
    const refresh = aRefreshToken(s.id);
    await stores.sessions.create(s, { tokenHash: null, refresh });
    const ott = aOneTimeToken(u.id, 'reset_password');
    await stores.oneTimeTokens.replace(ott);
    const identity = anIdentity(u.id);
    assert.equal(await stores.identities.link(identity), true);
    const key = anApiKey(u.id);
    await stores.apiKeys.create(key);
    const kept = aSession(other.id);
    await stores.sessions.create(kept, { tokenHash: null, refresh: null });

    assert.equal(await stores.users.delete(u.id), true);
    assert.equal(await stores.users.findById(u.id), null);
    assert.equal(await stores.users.delete(u.id), false);
    assert.equal(await stores.users.delete(uuidv7(T0)), false);
    assert.equal(await stores.sessions.find(s.id), null);
    assert.equal(await stores.sessions.findRefreshToken(refresh.hash), null);
    assert.equal(await stores.oneTimeTokens.findUsable(ott.hash, 'reset_password', T0), null);
    assert.equal(await stores.identities.find(identity.provider, identity.subject), null);
    assert.equal(await stores.apiKeys.findByPrefix(key.prefix), null);
    assert.ok(await stores.sessions.find(kept.id), 'another user\'s rows stay');
    assert.ok(await stores.users.findById(other.id));
    assert.equal((await db.selectFrom('one_time_tokens').select('hash').where('user_id', '=', u.id).execute()).length, 0);
  });

  it('list pages by id with limit and afterId, in id order, without gaps or repeats', async () => {
    const { stores, truncate } = backend();
    await truncate('users');
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await createUser(stores, { id: uuidv7(T0 + i) }));
    const ids = made.map((u) => u.id);
    const page1 = await stores.users.list({ limit: 2 });
    const page2 = await stores.users.list({ limit: 2, afterId: page1.at(-1)!.id });
    const page3 = await stores.users.list({ limit: 2, afterId: page2.at(-1)!.id });
    assert.deepEqual([page1, page2, page3].map((p) => p.map((u) => u.id)), [ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
    assert.deepEqual(page1[0], made[0], 'rows come back whole');
    assert.deepEqual(await stores.users.list({ limit: 2, afterId: ids[4] }), []);
  });

  it('list searches e-mail and name case-insensitively, and treats _ % and \\ literally', async () => {
    const { stores, truncate } = backend();
    await truncate('users');
    const emails = ['a_b@example.com', 'axb@example.com', 'ab@example.com', 'p%q@example.com', 'pzq@example.com', 'back\\slash@example.com', 'backxslash@example.com'];
    const made = [];
    for (const [i, email] of emails.entries()) made.push(await createUser(stores, { id: uuidv7(T0 + i), email, name: 'n' }));
    await createUser(stores, { id: uuidv7(T0 + 10), email: 'someone@example.com', name: 'Ada Lovelace' });
    const search = async (q: string) => (await stores.users.list({ q, limit: 50 })).map((u) => u.email);
    assert.deepEqual(await search('a_b'), ['a_b@example.com'], '_ is not a wildcard');
    assert.deepEqual(await search('p%q'), ['p%q@example.com'], '% is not a wildcard');
    assert.deepEqual(await search('back\\slash'), ['back\\slash@example.com'], '\\ is not an escape character');
    assert.deepEqual(await search('A_B@EXAMPLE'), ['a_b@example.com'], 'the query\'s case does not matter');
    assert.deepEqual(await search('lovelace'), ['someone@example.com'], 'the name is searched, whatever its case');
    assert.deepEqual(await search('nobody-matches'), []);
    assert.equal((await stores.users.list({ q: 'example.com', limit: 3 })).length, 3, 'the limit applies to a search');
    const afterFirst = await stores.users.list({ q: 'b@', limit: 50, afterId: made[0]!.id });
    assert.deepEqual(afterFirst.map((u) => u.email), ['axb@example.com', 'ab@example.com'], 'search and cursor combine');
  });

  it('countActiveAdmins counts admins that are not disabled, and follows updates', async () => {
    const { stores, truncate } = backend();
    await truncate('users');
    assert.equal(await stores.users.countActiveAdmins(), 0);
    const a = await createUser(stores, { role: 'admin' });
    await createUser(stores, { role: 'admin', disabledAt: T0 });
    await createUser(stores, { role: 'user' });
    assert.equal(await stores.users.countActiveAdmins(), 1);
    const b = await createUser(stores, { role: 'user' });
    await stores.users.update(b.id, { role: 'admin' }, T0 + 1);
    assert.equal(await stores.users.countActiveAdmins(), 2);
    await stores.users.update(a.id, { disabledAt: T0 + 2 }, T0 + 2);
    assert.equal(await stores.users.countActiveAdmins(), 1);
    await stores.users.delete(b.id);
    assert.equal(await stores.users.countActiveAdmins(), 0);
  });
  it('the hot reads keep answering while a migration adds and drops a column (PostgreSQL runs them as prepared statements)', async () => {
    const { stores, db } = backend();
    const u = await createUser(stores);
    const s = aSession(u.id);
    const refresh = aRefreshToken(s.id);
    await stores.sessions.create(s, { tokenHash: null, refresh });
    // Many at once, so that most of the pool's connections have prepared them.
    const readAll = async () => {
      for (const found of await Promise.all(Array.from({ length: 30 }, () => stores.users.findById(u.id)))) assert.deepEqual(found, u);
      for (const found of await Promise.all(Array.from({ length: 30 }, () => stores.users.findByEmail(u.email)))) assert.deepEqual(found, u);
      for (const found of await Promise.all(Array.from({ length: 30 }, () => stores.sessions.find(s.id)))) assert.deepEqual(found, s);
      for (const found of await Promise.all(Array.from({ length: 30 }, () => stores.sessions.findRefreshTokenWithSession(refresh.hash)))) assert.deepEqual(found, { token: refresh, session: s, user: u });
    };
    await readAll();
    for (const table of ['users', 'sessions', 'refresh_tokens']) await sql`alter table ${sql.table(table)} add column added_later text`.execute(db);
    try {
      await readAll();
    } finally {
      for (const table of ['users', 'sessions', 'refresh_tokens']) await sql`alter table ${sql.table(table)} drop column added_later`.execute(db);
    }
    await readAll();
  });
});
