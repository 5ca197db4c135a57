// SqlMaintenanceStore contract (batched clean-up of expired rows and the run lock), on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { beforeEach, it } from 'node:test';
import { SqlMaintenanceStore } from '../../src/db/maintenance-store.ts';
import type { Database } from '../../src/db/schema.ts';
import { describeEachBackend } from './backends.ts';
import { aOneTimeToken, aRefreshToken, aSession, anAuditEvent, createUser, DAY, T0, unique } from './fixtures.ts';

const TABLES: (keyof Database)[] = ['refresh_tokens', 'sessions', 'one_time_tokens', 'shared_state', 'mail_queue', 'audit_events'];

describeEachBackend('MaintenanceStore', (backend) => {
  const store = () => new SqlMaintenanceStore(backend().db, backend().dialect);
  const keys = async <T extends keyof Database>(table: T, column: string) =>
    ((await backend().db.selectFrom(table as 'sessions').select(column as 'id').execute()) as Record<string, unknown>[]).map((r) => String(r[column])).sort();
  beforeEach(() => backend().truncate(...TABLES));

  /** Sessions (expiring far in the future unless told) with a refresh token each; returns the session ids. */
  async function sessions(...extras: Parameters<typeof aSession>[1][]) {
    const u = await createUser(backend().stores);
    const ids = [];
    for (const extra of extras) {
      const s = aSession(u.id, { expiresAt: T0 + 100 * DAY, ...extra });
      await backend().stores.sessions.create(s, { tokenHash: null, refresh: aRefreshToken(s.id) });
      if (extra?.revokedAt) await backend().stores.sessions.revoke(s.id, 'logout', extra.revokedAt);
      ids.push(s.id);
    }
    return ids;
  }

  it('deleteEndedSessions deletes sessions revoked or expired before the cutoff, with their refresh tokens, at most `limit`', async () => {
    const cutoff = T0 + 10 * DAY;
    const [revokedOld, expiredOld, revokedAtCutoff, expiringAtCutoff, live, revokedOld2] = await sessions(
      { revokedAt: cutoff - 1 },
      { expiresAt: cutoff - 1 },
      { revokedAt: cutoff },
      { expiresAt: cutoff },
      { expiresAt: cutoff + DAY },
      { revokedAt: T0 + 1 },
    );
    assert.equal(await store().deleteEndedSessions(cutoff, 2), 2, 'the limit holds');
    assert.equal(await store().deleteEndedSessions(cutoff, 100), 1);
    assert.equal(await store().deleteEndedSessions(cutoff, 100), 0);
    assert.deepEqual(await keys('sessions', 'id'), [revokedAtCutoff, expiringAtCutoff, live].sort());
    for (const id of [revokedOld, expiredOld, revokedOld2]) assert.equal(await backend().stores.sessions.find(id!), null);
    assert.equal((await keys('refresh_tokens', 'hash')).length, 3, 'their refresh tokens went with them');
  });

  it('deleteRefreshTokensOfEndedSessions deletes the tokens of sessions revoked or expired at `now`, at most `limit`', async () => {
    const now = T0 + DAY;
    const [, , , live] = await sessions({ revokedAt: T0 + 1 }, { expiresAt: now - 1 }, { expiresAt: now }, { expiresAt: now + 1 });
    assert.equal(await store().deleteRefreshTokensOfEndedSessions(now, 2), 2);
    assert.equal(await store().deleteRefreshTokensOfEndedSessions(now, 100), 1);
    const left = await backend().db.selectFrom('refresh_tokens').select('session_id').execute();
    assert.deepEqual(left.map((r) => r.session_id), [live]);
    assert.deepEqual((await keys('sessions', 'id')).length, 4, 'the sessions themselves stay');
  });

  it('deleteExpiredRefreshTokens deletes tokens past their own expiry, at most `limit`', async () => {
    const [s] = await sessions({});
    const now = T0 + DAY;
    const tokens = [now - 2, now - 1, now, now + 1].map((expiresAt) => aRefreshToken(s!, { expiresAt }));
    for (const t of tokens) await backend().stores.sessions.insertRefreshToken(t);
    // The session's first token expires at T0 + DAY too.
    assert.equal(await store().deleteExpiredRefreshTokens(now, 2), 2);
    assert.equal(await store().deleteExpiredRefreshTokens(now, 100), 2);
    assert.deepEqual(await keys('refresh_tokens', 'hash'), [tokens[3]!.hash]);
  });

  it('deleteOldUsedRefreshTokens keeps each session\'s `keep` most recently used and every unused or recent one', async () => {
    const [a, b] = await sessions({}, {});
    const used = (sessionId: string, usedAt: number | null) => aRefreshToken(sessionId, { usedAt });
    const chainA = [1, 2, 3, 4, 5].map((i) => used(a!, T0 + i));
    const recentA = used(a!, T0 + 100);
    const chainB = [1, 2].map((i) => used(b!, T0 + i));
    for (const t of [...chainA, recentA, ...chainB]) await backend().stores.sessions.insertRefreshToken(t);
    // Session a: used T0+1..5 and T0+100; keep 2 newest (T0+100, T0+5); of the rest, those used before T0+3 go.
    assert.equal(await store().deleteOldUsedRefreshTokens(2, T0 + 3, 100), 2);
    const left = await keys('refresh_tokens', 'hash');
    for (const gone of chainA.slice(0, 2)) assert.ok(!left.includes(gone.hash));
    for (const kept of [...chainA.slice(2), recentA, ...chainB]) assert.ok(left.includes(kept.hash), 'newest, recent and other sessions\' tokens stay');
    assert.equal(left.length, 3 + 1 + 2 + 2, 'unused tokens (each session\'s first) stay');
    assert.equal(await store().deleteOldUsedRefreshTokens(1, T0 + 1000, 1), 1, 'the limit holds');
  });

  it('deleteSpentOneTimeTokens deletes tokens used or expired before the cutoff, at most `limit`', async () => {
    const u = await createUser(backend().stores);
    const cutoff = T0 + DAY;
    const usedOld = aOneTimeToken(u.id, 'verify_email', { expiresAt: cutoff + DAY });
    const expiredOld = aOneTimeToken(u.id, 'reset_password', { expiresAt: cutoff - 1 });
    const usedRecent = aOneTimeToken(u.id, 'verify_email', { expiresAt: cutoff + DAY });
    const usable = aOneTimeToken(u.id, 'reset_password', { expiresAt: cutoff + DAY });
    const insert = (t: typeof usedOld, usedAt: number | null) =>
      backend().db.insertInto('one_time_tokens').values({ hash: t.hash, user_id: t.userId, purpose: t.purpose, created_at: t.createdAt, expires_at: t.expiresAt, used_at: usedAt }).execute();
    await insert(usedOld, cutoff - 1);
    await insert(expiredOld, null);
    await insert(usedRecent, cutoff);
    await insert(usable, null);
    assert.equal(await store().deleteSpentOneTimeTokens(cutoff, 1), 1);
    assert.equal(await store().deleteSpentOneTimeTokens(cutoff, 100), 1);
    assert.deepEqual(await keys('one_time_tokens', 'hash'), [usedRecent.hash, usable.hash].sort());
  });

  it('deleteExpiredSharedState deletes entries expired at `now`, at most `limit`', async () => {
    const now = T0 + 1000;
    const rows = [now - 1, now, now + 1, now - 5].map((expires_at) => ({ key: unique('k'), value: 'v', count: 1, expires_at }));
    await backend().db.insertInto('shared_state').values(rows).execute();
    assert.equal(await store().deleteExpiredSharedState(now, 2), 2);
    assert.equal(await store().deleteExpiredSharedState(now, 100), 1);
    assert.deepEqual(await keys('shared_state', 'key'), [rows[2]!.key]);
  });

  it('deleteFinishedMail deletes mail sent before one cutoff and mail given up queued before another', async () => {
    const row = (status: string, created_at: number, sent_at: number | null) => ({ id: unique('m'), status, message: '', attempts: 1, created_at, next_attempt_at: created_at, sent_at, last_error: null });
    const sentOld = row('sent', T0, T0 + 9);
    const sentRecent = row('sent', T0, T0 + 10);
    const deadOld = row('dead', T0 + 19, null);
    const deadRecent = row('dead', T0 + 20, null);
    const pendingOld = row('pending', T0, null);
    await backend().db.insertInto('mail_queue').values([sentOld, sentRecent, deadOld, deadRecent, pendingOld]).execute();
    assert.equal(await store().deleteFinishedMail(T0 + 10, T0 + 20, 1), 1);
    assert.equal(await store().deleteFinishedMail(T0 + 10, T0 + 20, 100), 1);
    assert.deepEqual(await keys('mail_queue', 'id'), [sentRecent.id, deadRecent.id, pendingOld.id].sort(), 'pending mail is never deleted');
  });

  it('deleteAuditEventsBefore deletes events older than the cutoff, at most `limit`', async () => {
    const events = [T0, T0 + 1, T0 + 2, T0 + 3].map((at) => anAuditEvent('login_ok', { at }));
    for (const e of events) await backend().stores.audit.append(e);
    assert.equal(await store().deleteAuditEventsBefore(T0 + 3, 2), 2);
    assert.equal(await store().deleteAuditEventsBefore(T0 + 3, 100), 1);
    assert.deepEqual(await keys('audit_events', 'id'), [events[3]!.id]);
  });

  it('withLock runs the work and returns its result; the lock is released after a throw', async () => {
    assert.equal(await store().withLock(async (s) => s.deleteAuditEventsBefore(T0, 10)), 0);
    await assert.rejects(store().withLock(async () => Promise.reject(new Error('job failed'))), /job failed/);
    assert.equal(await store().withLock(async () => 'ran again'), 'ran again');
  });

  it('withLock on PostgreSQL: a second instance is skipped while the first runs, and runs once it is done', async (t) => {
    if (backend().dialect !== 'postgres') return t.skip('SQLite is one process, which runs one maintenance at a time itself');
    let second: unknown;
    const first = await store().withLock(async () => {
      second = await new SqlMaintenanceStore(backend().db, 'postgres').withLock(async () => 'ran');
      return 'first';
    });
    assert.equal(first, 'first');
    assert.equal(second, 'skipped');
    assert.equal(await store().withLock(async () => 'ran'), 'ran');
  });
});
