// The maintenance jobs' SQL: each method deletes at most `limit` rows and says how many, so a job runs in
// small transactions that never hold many locks or a long write lock on SQLite (supabase/auth's cleanup does
// the same). The rules for what may go are in src/maintenance.ts.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database, Dialect } from './schema.ts';

/** pg_try_advisory_lock key: one maintenance run at a time across every instance on one PostgreSQL. */
const MAINTENANCE_LOCK = 7_236_101_001;

export class SqlMaintenanceStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /**
   * Runs `work` holding the maintenance lock, or returns 'skipped' when another instance holds it. On
   * PostgreSQL a session advisory lock on one pooled connection, which `work` gets as its own store (the lock
   * goes with that connection if the process dies); SQLite is one process, which guards itself.
   */
  async withLock<T>(work: (store: SqlMaintenanceStore) => Promise<T>): Promise<T | 'skipped'> {
    if (this.dialect !== 'postgres') return work(this);
    return this.db.connection().execute(async (connection) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${MAINTENANCE_LOCK}) as locked`.execute(connection);
      if (!rows[0]?.locked) return 'skipped' as const;
      try {
        return await work(new SqlMaintenanceStore(connection, this.dialect));
      } finally {
        await sql`select pg_advisory_unlock(${MAINTENANCE_LOCK})`.execute(connection);
      }
    });
  }

  /** `delete from table where key in (select …)`: the batch is chosen first, then deleted in one statement. */
  private async deleteIn(table: keyof Database | 'backchannel_logouts', key: string, select: RawBuilder<unknown>): Promise<number> {
    const result = await sql`delete from ${sql.table(table)} where ${sql.ref(key)} in (${select})`.execute(this.db);
    return Number(result.numAffectedRows ?? 0);
  }

  /** On PostgreSQL rows another transaction holds are left for the next run rather than waited for. */
  private get skipLocked(): RawBuilder<unknown> {
    return this.dialect === 'postgres' ? sql`for update skip locked` : sql``;
  }

  /** Sessions revoked or expired before `cutoff` (their refresh tokens go with them). */
  deleteEndedSessions(cutoff: number, limit: number): Promise<number> {
    return this.deleteIn('sessions', 'id', sql`select id from sessions where (revoked_at is not null and revoked_at < ${cutoff}) or expires_at < ${cutoff} limit ${limit} ${this.skipLocked}`);
  }

  /** Refresh tokens of sessions that are revoked or expired at `now`. */
  deleteRefreshTokensOfEndedSessions(now: number, limit: number): Promise<number> {
    return this.deleteIn(
      'refresh_tokens',
      'hash',
      sql`select t.hash from refresh_tokens t join sessions s on s.id = t.session_id where s.revoked_at is not null or s.expires_at <= ${now} limit ${limit}`,
    );
  }

  /** Refresh tokens past their own expiry. */
  deleteExpiredRefreshTokens(now: number, limit: number): Promise<number> {
    return this.deleteIn('refresh_tokens', 'hash', sql`select hash from refresh_tokens where expires_at <= ${now} limit ${limit} ${this.skipLocked}`);
  }

  /** Used refresh tokens older than the `keep` most recently used of their session, used before `cutoff`. */
  deleteOldUsedRefreshTokens(keep: number, cutoff: number, limit: number): Promise<number> {
    return this.deleteIn(
      'refresh_tokens',
      'hash',
      sql`select hash from (
            select hash, used_at, row_number() over (partition by session_id order by used_at desc) as newer
            from refresh_tokens where used_at is not null
          ) ranked where newer > ${keep} and used_at < ${cutoff} limit ${limit}`,
    );
  }

  /** One-time tokens used, or expired, before `cutoff`: neither can be redeemed again. */
  deleteSpentOneTimeTokens(cutoff: number, limit: number): Promise<number> {
    return this.deleteIn('one_time_tokens', 'hash', sql`select hash from one_time_tokens where (used_at is not null and used_at < ${cutoff}) or expires_at < ${cutoff} limit ${limit} ${this.skipLocked}`);
  }

  deleteExpiredSharedState(now: number, limit: number): Promise<number> {
    return this.deleteIn('shared_state', 'key', sql`select key from shared_state where expires_at <= ${now} limit ${limit} ${this.skipLocked}`);
  }

  /** Mail delivered before `sentCutoff`, and mail given up that was queued before `deadCutoff`. */
  deleteFinishedMail(sentCutoff: number, deadCutoff: number, limit: number): Promise<number> {
    return this.deleteIn(
      'mail_queue',
      'id',
      sql`select id from mail_queue where (status = 'sent' and sent_at < ${sentCutoff}) or (status = 'dead' and created_at < ${deadCutoff}) limit ${limit} ${this.skipLocked}`,
    );
  }

  /** Back-channel logout tokens delivered before `sentCutoff`, and those given up that were queued before `deadCutoff`. */
  deleteFinishedBackchannelLogouts(sentCutoff: number, deadCutoff: number, limit: number): Promise<number> {
    return this.deleteIn(
      'backchannel_logouts',
      'id',
      sql`select id from backchannel_logouts where (status = 'sent' and sent_at < ${sentCutoff}) or (status = 'dead' and created_at < ${deadCutoff}) limit ${limit} ${this.skipLocked}`,
    );
  }

  deleteAuditEventsBefore(cutoff: number, limit: number): Promise<number> {
    return this.deleteIn('audit_events', 'id', sql`select id from audit_events where at < ${cutoff} limit ${limit} ${this.skipLocked}`);
  }
}
