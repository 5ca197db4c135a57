// SessionStore contract (sessions and their refresh tokens), on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sha256, uuidv7 } from '../../src/crypto/random.ts';
import { describeEachBackend } from './backends.ts';
import { aRefreshToken, aSession, createUser, DAY, MINUTE, T0, unique } from './fixtures.ts';

describeEachBackend('SessionStore', (backend) => {
  it('create and find round-trip every field, amr and authTime included', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const s = aSession(u.id, { mode: 'cookie', amr: ['pwd', 'otp', 'mfa'], authTime: T0 + 5 * MINUTE, createdAt: T0, lastUsedAt: T0 + MINUTE, userAgent: null, ip: null });
    await stores.sessions.create(s, { tokenHash: null, refresh: null });
    assert.deepEqual(await stores.sessions.find(s.id), s);
    const none = aSession(u.id, { amr: [] });
    await stores.sessions.create(none, { tokenHash: null, refresh: null });
    assert.deepEqual((await stores.sessions.find(none.id))!.amr, [], 'no methods is an empty list, not [""]');
    assert.equal(await stores.sessions.find(uuidv7(T0)), null);
  });

  it('a row written before auth_time existed reads its authTime as its creation time', async () => {
    const { stores, db } = backend();
    const u = await createUser(stores);
    const s = aSession(u.id, { createdAt: T0 + 3, authTime: T0 + 9 });
    await stores.sessions.create(s, { tokenHash: null, refresh: null });
    await db.updateTable('sessions').set({ auth_time: null }).where('id', '=', s.id).execute();
    assert.equal((await stores.sessions.find(s.id))!.authTime, T0 + 3);
  });

  it('create stores the first refresh token with the session, or neither when the token cannot be stored', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const s = aSession(u.id);
    const refresh = aRefreshToken(s.id);
    await stores.sessions.create(s, { tokenHash: null, refresh });
    assert.deepEqual(await stores.sessions.findRefreshToken(refresh.hash), refresh);

    const broken = aSession(u.id);
    // The token names a session that does not exist: its insert fails after the session's.
    await assert.rejects(stores.sessions.create(broken, { tokenHash: null, refresh: aRefreshToken(uuidv7(T0)) }));
    assert.equal(await stores.sessions.find(broken.id), null, 'the session went with its token');
  });

  it('findByTokenHash and findByTokenHashWithUser find a cookie session, with its user, in one read', async () => {
    const { stores } = backend();
    const u = await createUser(stores, { role: 'admin', lastLoginAt: T0 });
    const s = aSession(u.id, { mode: 'session', amr: ['fed'], authTime: T0 + 42 });
    const hash = sha256(unique('cookie'));
    await stores.sessions.create(s, { tokenHash: hash, refresh: null });
    assert.deepEqual(await stores.sessions.findByTokenHash(hash), s);
    assert.deepEqual(await stores.sessions.findByTokenHashWithUser(hash), { session: s, user: u });
    assert.equal(await stores.sessions.findByTokenHash(sha256('no such cookie')), null);
    assert.equal(await stores.sessions.findByTokenHashWithUser(sha256('no such cookie')), null);
  });

  it('touch records the last use, and moves the expiry only when given one', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const s = aSession(u.id);
    await stores.sessions.create(s, { tokenHash: null, refresh: null });
    await stores.sessions.touch(s.id, T0 + MINUTE);
    assert.deepEqual(await stores.sessions.find(s.id), { ...s, lastUsedAt: T0 + MINUTE });
    await stores.sessions.touch(s.id, T0 + 2 * MINUTE, T0 + 2 * DAY);
    assert.deepEqual(await stores.sessions.find(s.id), { ...s, lastUsedAt: T0 + 2 * MINUTE, expiresAt: T0 + 2 * DAY });
  });

  it('listLive lists the user\'s unrevoked, unexpired sessions, newest first', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const other = await createUser(stores);
    const older = aSession(u.id, { createdAt: T0 });
    const newer = aSession(u.id, { createdAt: T0 + MINUTE });
    const expiring = aSession(u.id, { createdAt: T0 + 2 * MINUTE, expiresAt: T0 + 10 * MINUTE });
    const revoked = aSession(u.id, { createdAt: T0 + 3 * MINUTE });
    for (const s of [older, newer, expiring, revoked, aSession(other.id)]) await stores.sessions.create(s, { tokenHash: null, refresh: null });
    await stores.sessions.revoke(revoked.id, 'logout', T0 + 4 * MINUTE);
    const live = async (now: number) => (await stores.sessions.listLive(u.id, now)).map((s) => s.id);
    assert.deepEqual(await live(T0 + 5 * MINUTE), [expiring.id, newer.id, older.id]);
    assert.deepEqual(await live(T0 + 10 * MINUTE), [newer.id, older.id], 'a session is over at its expiry instant');
    assert.deepEqual((await stores.sessions.listLive(u.id, T0))[2], older, 'rows come back whole');
  });

  it('revoke is true for exactly the call that ended a live session, and keeps the first reason and time', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const s = aSession(u.id);
    await stores.sessions.create(s, { tokenHash: null, refresh: null });
    assert.equal(await stores.sessions.revoke(s.id, 'logout', T0 + 1), true);
    assert.equal(await stores.sessions.revoke(s.id, 'admin', T0 + 2), false);
    assert.equal(await stores.sessions.revoke(uuidv7(T0), 'logout', T0 + 1), false);
    assert.deepEqual(await stores.sessions.find(s.id), { ...s, revokedAt: T0 + 1, revokeReason: 'logout' });
    const race = aSession(u.id);
    await stores.sessions.create(race, { tokenHash: null, refresh: null });
    const wins = await Promise.all(Array.from({ length: 10 }, (_, i) => stores.sessions.revoke(race.id, `r${i}`, T0 + 3)));
    assert.equal(wins.filter(Boolean).length, 1);
  });

  it('revokeAllOfUser revokes the user\'s other sessions, returns their ids, and leaves the rest alone', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const other = await createUser(stores);
    const [current, a, b, earlier] = [aSession(u.id), aSession(u.id), aSession(u.id), aSession(u.id)];
    const theirs = aSession(other.id);
    for (const s of [current, a, b, earlier, theirs]) await stores.sessions.create(s, { tokenHash: null, refresh: null });
    await stores.sessions.revoke(earlier.id, 'logout', T0 + 1);

    const revoked = await stores.sessions.revokeAllOfUser(u.id, 'password_changed', T0 + 2, current.id);
    assert.deepEqual(revoked.sort(), [a.id, b.id].sort());
    assert.deepEqual(await stores.sessions.find(a.id), { ...a, revokedAt: T0 + 2, revokeReason: 'password_changed' });
    assert.equal((await stores.sessions.find(current.id))!.revokedAt, null, 'the excepted session stays');
    assert.deepEqual(await stores.sessions.find(earlier.id), { ...earlier, revokedAt: T0 + 1, revokeReason: 'logout' }, 'an earlier revocation is kept');
    assert.equal((await stores.sessions.find(theirs.id))!.revokedAt, null, 'another user\'s sessions stay');

    assert.deepEqual(await stores.sessions.revokeAllOfUser(u.id, 'logout_all', T0 + 3), [current.id], 'without an exception, all');
    assert.deepEqual(await stores.sessions.revokeAllOfUser(u.id, 'logout_all', T0 + 4), []);
  });

  it('listRevokedSince lists sessions revoked at or after the instant', async () => {
    const { stores, truncate } = backend();
    await truncate('sessions');
    const u = await createUser(stores);
    const [before, at, after, live] = [aSession(u.id), aSession(u.id), aSession(u.id), aSession(u.id)];
    for (const s of [before, at, after, live]) await stores.sessions.create(s, { tokenHash: null, refresh: null });
    await stores.sessions.revoke(before.id, 'logout', T0 + 99);
    await stores.sessions.revoke(at.id, 'logout', T0 + 100);
    await stores.sessions.revoke(after.id, 'logout', T0 + 101);
    assert.deepEqual((await stores.sessions.listRevokedSince(T0 + 100)).sort(), [at.id, after.id].sort());
    assert.deepEqual(await stores.sessions.listRevokedSince(T0 + 102), []);
  });

  it('findRefreshToken and findRefreshTokenWithSession read a token with its session and user', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const s = aSession(u.id, { amr: ['pwd', 'otp'], authTime: T0 + 7 });
    const refresh = aRefreshToken(s.id);
    await stores.sessions.create(s, { tokenHash: null, refresh });
    const child = aRefreshToken(s.id, { parentHash: refresh.hash, createdAt: T0 + 1, usedAt: T0 + 2 });
    await stores.sessions.insertRefreshToken(child);
    assert.deepEqual(await stores.sessions.findRefreshToken(child.hash), child);
    assert.deepEqual(await stores.sessions.findRefreshTokenWithSession(child.hash), { token: child, session: s, user: u });
    assert.equal(await stores.sessions.findRefreshToken(sha256('none')), null);
    assert.equal(await stores.sessions.findRefreshTokenWithSession(sha256('none')), null);
  });

  it('claimRefreshToken is true for exactly one of 20 concurrent callers, each in its own transaction', async () => {
    const { stores, transaction } = backend();
    const u = await createUser(stores);
    const s = aSession(u.id);
    const refresh = aRefreshToken(s.id);
    await stores.sessions.create(s, { tokenHash: null, refresh });
    const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => transaction((tx) => tx.sessions.claimRefreshToken(refresh.hash, T0 + 1 + i))));
    assert.equal(wins.filter(Boolean).length, 1);
    assert.equal((await stores.sessions.findRefreshToken(refresh.hash))!.usedAt, T0 + 1 + wins.indexOf(true), 'the winner\'s time is kept');
    assert.equal(await stores.sessions.claimRefreshToken(refresh.hash, T0 + 50), false);
    assert.equal(await stores.sessions.claimRefreshToken(sha256('none'), T0 + 50), false);
  });

  it('insertRefreshToken is idempotent: the same successor inserted concurrently keeps one row, the first one', async () => {
    const { stores, db } = backend();
    const u = await createUser(stores);
    const s = aSession(u.id);
    await stores.sessions.create(s, { tokenHash: null, refresh: null });
    const successor = aRefreshToken(s.id);
    await Promise.all(Array.from({ length: 5 }, () => stores.sessions.insertRefreshToken(successor)));
    await stores.sessions.insertRefreshToken({ ...successor, expiresAt: T0 + 5 * DAY });
    const rows = await db.selectFrom('refresh_tokens').selectAll().where('session_id', '=', s.id).execute();
    assert.equal(rows.length, 1);
    assert.deepEqual(await stores.sessions.findRefreshToken(successor.hash), successor);
  });
  it('rotate reads the token, its session and user, claims it, stores the successor and extends the session, in one step', async () => {
    const { stores } = backend();
    const u = await createUser(stores, { role: 'admin' });
    const s = aSession(u.id, { amr: ['pwd', 'otp'], lastUsedAt: T0 + 1 });
    const refresh = aRefreshToken(s.id);
    await stores.sessions.create(s, { tokenHash: null, refresh });
    const successor = { hash: sha256(unique('successor')), expiresAt: T0 + 9 * DAY };
    const now = T0 + 5 * MINUTE;
    assert.deepEqual(await stores.sessions.rotate(refresh.hash, successor, now), { token: refresh, session: s, user: u, rotated: true }, 'as read before the claim');
    assert.equal((await stores.sessions.findRefreshToken(refresh.hash))!.usedAt, now);
    assert.deepEqual(await stores.sessions.findRefreshToken(successor.hash), { hash: successor.hash, sessionId: s.id, parentHash: refresh.hash, createdAt: now, usedAt: null, expiresAt: successor.expiresAt });
    assert.deepEqual(await stores.sessions.find(s.id), { ...s, lastUsedAt: now, expiresAt: successor.expiresAt });
    // The same token again: read as it now is, not rotated, nothing written.
    const again = await stores.sessions.rotate(refresh.hash, { hash: sha256(unique('other')), expiresAt: T0 + 10 * DAY }, now + 1);
    assert.deepEqual(again, { token: { ...refresh, usedAt: now }, session: { ...s, lastUsedAt: now, expiresAt: successor.expiresAt }, user: u, rotated: false });
    assert.equal((await stores.sessions.find(s.id))!.lastUsedAt, now);
    assert.equal(await stores.sessions.rotate(sha256('none'), successor, now), null);
  });

  it('rotate claims nothing when the token has expired or its session is revoked or expired, and tells which', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const cases = [
      { session: aSession(u.id, { expiresAt: T0 + DAY }), token: { expiresAt: T0 + MINUTE }, revoke: false },
      { session: aSession(u.id, { expiresAt: T0 + MINUTE }), token: {}, revoke: false },
      { session: aSession(u.id), token: {}, revoke: true },
    ];
    for (const c of cases) {
      const refresh = aRefreshToken(c.session.id, c.token);
      await stores.sessions.create(c.session, { tokenHash: null, refresh });
      if (c.revoke) await stores.sessions.revoke(c.session.id, 'logout', T0 + 1);
      const successor = { hash: sha256(unique('successor')), expiresAt: T0 + 9 * DAY };
      const found = await stores.sessions.rotate(refresh.hash, successor, T0 + MINUTE);
      assert.equal(found?.rotated, false);
      assert.equal(found.session.revokedAt !== null || found.session.expiresAt <= T0 + MINUTE || found.token.expiresAt <= T0 + MINUTE, true);
      assert.equal((await stores.sessions.findRefreshToken(refresh.hash))!.usedAt, null, 'not claimed');
      assert.equal(await stores.sessions.findRefreshToken(successor.hash), null, 'no successor');
      assert.equal((await stores.sessions.find(c.session.id))!.lastUsedAt, c.session.lastUsedAt, 'the session untouched');
    }
  });

  it('rotate is true for exactly one of 20 concurrent callers, which alone writes; the others then find the successor', async () => {
    const { stores, db } = backend();
    const u = await createUser(stores);
    const s = aSession(u.id);
    const refresh = aRefreshToken(s.id);
    await stores.sessions.create(s, { tokenHash: null, refresh });
    const successor = { hash: sha256(unique('successor')), expiresAt: T0 + 9 * DAY };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => stores.sessions.rotate(refresh.hash, successor, T0 + 1 + i)));
    const winner = results.findIndex((r) => r?.rotated);
    assert.equal(results.filter((r) => r?.rotated).length, 1);
    assert.equal((await stores.sessions.findRefreshToken(refresh.hash))!.usedAt, T0 + 1 + winner, "the winner's time is kept");
    assert.equal((await stores.sessions.find(s.id))!.lastUsedAt, T0 + 1 + winner);
    const rows = await db.selectFrom('refresh_tokens').selectAll().where('session_id', '=', s.id).execute();
    assert.equal(rows.length, 2, 'the token and one successor');
    assert.deepEqual(await stores.sessions.findRefreshToken(successor.hash), { hash: successor.hash, sessionId: s.id, parentHash: refresh.hash, createdAt: T0 + 1 + winner, usedAt: null, expiresAt: successor.expiresAt });
  });

  it('rotate inside a transaction is part of it, and waits for (never runs inside) a transaction open elsewhere', async () => {
    const { stores, transaction } = backend();
    const u = await createUser(stores);
    const s = aSession(u.id);
    const refresh = aRefreshToken(s.id);
    await stores.sessions.create(s, { tokenHash: null, refresh });
    const successor = { hash: sha256(unique('successor')), expiresAt: T0 + 9 * DAY };
    const failure = new Error('roll back');
    await assert.rejects(
      transaction(async (tx) => {
        assert.equal((await tx.sessions.rotate(refresh.hash, successor, T0 + 1))?.rotated, true);
        throw failure;
      }),
      (err) => err === failure,
    );
    assert.equal((await stores.sessions.findRefreshToken(refresh.hash))!.usedAt, null, 'rolled back with the transaction');
    assert.equal(await stores.sessions.findRefreshToken(successor.hash), null);

    let outside: Promise<unknown> | undefined;
    await assert.rejects(
      transaction(async (tx) => {
        await tx.users.update(u.id, { name: 'changed' }, T0 + 2);
        outside = stores.sessions.rotate(refresh.hash, successor, T0 + 3);
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw failure;
      }),
      (err) => err === failure,
    );
    assert.deepEqual(await outside, { token: refresh, session: s, user: u, rotated: true }, 'it read nothing of the other transaction');
    assert.equal((await stores.sessions.findRefreshToken(refresh.hash))!.usedAt, T0 + 3, 'and was not rolled back with it');
    assert.equal((await stores.sessions.findRefreshToken(successor.hash))!.parentHash, refresh.hash);
  });
});
