import type { Kysely, Selectable } from 'kysely';
import type { LoginMode, RefreshToken, Session, SessionStore } from '../sessions/store.ts';
import type { Database, RefreshTokensTable, SessionsTable } from './schema.ts';

function toSession(row: Selectable<SessionsTable>): Session {
  return {
    id: row.id,
    userId: row.user_id,
    mode: row.mode as LoginMode,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokeReason: row.revoke_reason,
    userAgent: row.user_agent,
    ip: row.ip,
  };
}

function toRefreshToken(row: Selectable<RefreshTokensTable>): RefreshToken {
  return {
    hash: row.hash,
    sessionId: row.session_id,
    parentHash: row.parent_hash,
    createdAt: row.created_at,
    usedAt: row.used_at,
    expiresAt: row.expires_at,
  };
}

export class SqlSessionStore implements SessionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly inTransaction = false,
  ) {}

  async create(session: Session, secret: { tokenHash: string | null; refresh: RefreshToken | null }): Promise<void> {
    const write = async (db: Kysely<Database>) => {
      await db
        .insertInto('sessions')
        .values({
          id: session.id,
          user_id: session.userId,
          mode: session.mode,
          token_hash: secret.tokenHash,
          created_at: session.createdAt,
          last_used_at: session.lastUsedAt,
          expires_at: session.expiresAt,
          revoked_at: null,
          revoke_reason: null,
          user_agent: session.userAgent,
          ip: session.ip,
        })
        .execute();
      if (secret.refresh) await new SqlSessionStore(db, true).insertRefreshToken(secret.refresh);
    };
    if (this.inTransaction) await write(this.db);
    else await this.db.transaction().execute(write);
  }

  async find(id: string): Promise<Session | null> {
    const row = await this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toSession(row) : null;
  }

  async findByTokenHash(tokenHash: string): Promise<Session | null> {
    const row = await this.db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row ? toSession(row) : null;
  }

  async touch(id: string, now: number, expiresAt?: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set(expiresAt === undefined ? { last_used_at: now } : { last_used_at: now, expires_at: expiresAt })
      .where('id', '=', id)
      .execute();
  }

  async listLive(userId: string, now: number): Promise<Session[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map(toSession);
  }

  async revoke(id: string, reason: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('sessions')
      .set({ revoked_at: now, revoke_reason: reason })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async revokeAllOfUser(userId: string, reason: string, now: number, exceptId?: string): Promise<string[]> {
    let update = this.db
      .updateTable('sessions')
      .set({ revoked_at: now, revoke_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (exceptId) update = update.where('id', '!=', exceptId);
    const rows = await update.returning('id').execute();
    return rows.map((r) => r.id);
  }

  async listRevokedSince(since: number): Promise<string[]> {
    const rows = await this.db.selectFrom('sessions').select('id').where('revoked_at', '>=', since).execute();
    return rows.map((r) => r.id);
  }

  async findRefreshToken(hash: string): Promise<RefreshToken | null> {
    const row = await this.db.selectFrom('refresh_tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? toRefreshToken(row) : null;
  }

  async claimRefreshToken(hash: string, now: number): Promise<boolean> {
    // The `used_at is null` condition makes the claim atomic: PostgreSQL re-checks it after waiting on the
    // row lock, and SQLite runs one writer at a time.
    const result = await this.db
      .updateTable('refresh_tokens')
      .set({ used_at: now })
      .where('hash', '=', hash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async insertRefreshToken(token: RefreshToken): Promise<void> {
    await this.db
      .insertInto('refresh_tokens')
      .values({
        hash: token.hash,
        session_id: token.sessionId,
        parent_hash: token.parentHash,
        created_at: token.createdAt,
        used_at: token.usedAt,
        expires_at: token.expiresAt,
      })
      .onConflict((oc) => oc.column('hash').doNothing())
      .execute();
  }

  async transaction<T>(work: (store: SessionStore) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    return this.db.transaction().execute((trx) => work(new SqlSessionStore(trx, true)));
  }
}
