import { CompiledQuery, type Kysely, type Selectable } from 'kysely';
import type { LoginMode, RefreshToken, Session, SessionStore } from '../sessions/store.ts';
import type { User } from '../users/store.ts';
import { changedRows, idleSqlite, isPostgres, preparedOnPool, rawQuery, statementName, type SqliteConnection } from './raw-query.ts';
import type { Database, RefreshTokensTable, SessionsTable, UsersTable } from './schema.ts';
import { atomically } from './atomically.ts';
import { USER_COLUMNS, toUser } from './user-store.ts';

// Joined reads name every column, prefixed by table, since the three tables share column names.
const columns = (alias: string, prefix: string, names: readonly string[]) => names.map((n) => `${alias}.${n} as ${prefix}${n}`).join(', ');
const SESSION_COLUMNS = ['id', 'user_id', 'mode', 'token_hash', 'created_at', 'last_used_at', 'expires_at', 'revoked_at', 'revoke_reason', 'user_agent', 'ip', 'amr', 'auth_time'] as const;
const TOKEN_COLUMNS = ['hash', 'session_id', 'parent_hash', 'created_at', 'used_at', 'expires_at'] as const;
const WITH_USER = `left join users u on u.id = s.user_id`;

/** Picks the columns of one table out of a joined row, without their prefix. */
function part<T>(row: Record<string, unknown>, prefix: string, names: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const name of names) out[name] = row[prefix + name];
  return out as T;
}

function sessionAndUser(row: Record<string, unknown>): { session: Session; user: User | null } {
  return {
    session: toSession(part<Selectable<SessionsTable>>(row, 's_', SESSION_COLUMNS)),
    user: row.u_id === null || row.u_id === undefined ? null : toUser(part<Selectable<UsersTable>>(row, 'u_', USER_COLUMNS)),
  };
}

// The statements every refresh and every session-cookie request runs (see raw-query.ts).
const SQL = {
  // Columns by name, never `*`: a statement prepared on PostgreSQL (raw-query.ts) keeps working when a later
  // migration adds a column.
  find: `select ${SESSION_COLUMNS.join(', ')} from sessions where id = ?`,
  findByTokenHash: `select ${SESSION_COLUMNS.join(', ')} from sessions where token_hash = ?`,
  touch: 'update sessions set last_used_at = ? where id = ?',
  touchAndExtend: 'update sessions set last_used_at = ?, expires_at = ? where id = ?',
  findRefreshToken: `select ${TOKEN_COLUMNS.join(', ')} from refresh_tokens where hash = ?`,
  findByTokenHashWithUser: `select ${columns('s', 's_', SESSION_COLUMNS)}, ${columns('u', 'u_', USER_COLUMNS)} from sessions s ${WITH_USER} where s.token_hash = ?`,
  findRefreshTokenWithSession: `select ${columns('t', 't_', TOKEN_COLUMNS)}, ${columns('s', 's_', SESSION_COLUMNS)}, ${columns('u', 'u_', USER_COLUMNS)} from refresh_tokens t join sessions s on s.id = t.session_id ${WITH_USER} where t.hash = ?`,
  // The `used_at is null` condition makes the claim atomic: PostgreSQL re-checks it after waiting on the
  // row lock, and SQLite runs one writer at a time.
  claimRefreshToken: 'update refresh_tokens set used_at = ? where hash = ? and used_at is null',
  insertRefreshToken:
    'insert into refresh_tokens (hash, session_id, parent_hash, created_at, used_at, expires_at) values (?, ?, ?, ?, ?, ?) on conflict (hash) do nothing',
};

/**
 * A rotation in one PostgreSQL statement (one round trip instead of BEGIN, the read, the claim, the insert, the
 * touch and COMMIT): $1 the token's hash, $2 now, $3 the successor's hash, $4 the new expiry. Every part runs
 * on one snapshot; the claim's `used_at is null` is re-checked after waiting on the row lock of a concurrent
 * claim (READ COMMITTED), so exactly one of concurrent statements claims, and only the one that claimed inserts
 * the successor and touches the session (both read the claim's RETURNING). `found` is the token as read, before
 * the claim.
 */
const ROTATE_POSTGRES = `with found as (
  select ${columns('t', 't_', TOKEN_COLUMNS)}, ${columns('s', 's_', SESSION_COLUMNS)}, ${columns('u', 'u_', USER_COLUMNS)}
  from refresh_tokens t join sessions s on s.id = t.session_id ${WITH_USER} where t.hash = $1::text
), claimed as (
  update refresh_tokens set used_at = $2::bigint
  where hash = $1::text and used_at is null
    and exists (select 1 from found where s_revoked_at is null and s_expires_at > $2::bigint and t_expires_at > $2::bigint)
  returning session_id
), inserted as (
  insert into refresh_tokens (hash, session_id, parent_hash, created_at, used_at, expires_at)
  select $3::text, session_id, $1::text, $2::bigint, null::bigint, $4::bigint from claimed
  on conflict (hash) do nothing
), touched as (
  update sessions set last_used_at = $2::bigint, expires_at = $4::bigint where id in (select session_id from claimed)
)
select found.*, exists (select 1 from claimed) as rotated from found`;
const ROTATE_POSTGRES_STATEMENT = { text: ROTATE_POSTGRES, name: statementName(ROTATE_POSTGRES) };

/** Whether a token as read may be rotated at `now`: unused, unexpired, its session live. */
function rotatable(row: Record<string, unknown>, now: number): boolean {
  return row.t_used_at === null && row.s_revoked_at === null && (row.s_expires_at as number) > now && (row.t_expires_at as number) > now;
}

type Rotated = { token: RefreshToken; session: Session; user: User | null; rotated: boolean };

function rotatedFrom(row: Record<string, unknown>, rotated: boolean): Rotated {
  return { token: toRefreshToken(part<Selectable<RefreshTokensTable>>(row, 't_', TOKEN_COLUMNS)), ...sessionAndUser(row), rotated };
}

// One synchronous better-sqlite3 transaction per connection (BEGIN IMMEDIATE: it writes after its read, so it
// takes the write lock first rather than fail to upgrade when the CLI writes meanwhile).
const sqliteRotations = new WeakMap<SqliteConnection, (hash: string, successor: { hash: string; expiresAt: number }, now: number) => Rotated | null>();

function sqliteRotation(connection: SqliteConnection) {
  let rotation = sqliteRotations.get(connection);
  if (!rotation) {
    const transaction = connection.raw.transaction((hash: string, successor: { hash: string; expiresAt: number }, now: number): Rotated | null => {
      const row = connection.prepare(SQL.findRefreshTokenWithSession).get(hash) as Record<string, unknown> | undefined;
      if (!row) return null;
      if (!rotatable(row, now) || connection.prepare(SQL.claimRefreshToken).run(now, hash).changes !== 1) return rotatedFrom(row, false);
      connection.prepare(SQL.insertRefreshToken).run(successor.hash, row.s_id, hash, now, null, successor.expiresAt);
      connection.prepare(SQL.touchAndExtend).run(now, successor.expiresAt, row.s_id);
      return rotatedFrom(row, true);
    });
    rotation = transaction.immediate;
    sqliteRotations.set(connection, rotation);
  }
  return rotation;
}

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
    amr: row.amr ? row.amr.split(' ') : [],
    authTime: row.auth_time ?? row.created_at,
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
  constructor(private readonly db: Kysely<Database>) {}

  async create(session: Session, secret: { tokenHash: string | null; refresh: RefreshToken | null }): Promise<void> {
    await atomically(this.db, async (db) => {
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
          amr: session.amr.join(' '),
          auth_time: session.authTime,
        })
        .execute();
      if (secret.refresh) await new SqlSessionStore(db).insertRefreshToken(secret.refresh);
    });
  }

  async find(id: string): Promise<Session | null> {
    const [row] = (await rawQuery<Selectable<SessionsTable>>(this.db, SQL.find, [id])).rows;
    return row ? toSession(row) : null;
  }

  async findByTokenHash(tokenHash: string): Promise<Session | null> {
    const [row] = (await rawQuery<Selectable<SessionsTable>>(this.db, SQL.findByTokenHash, [tokenHash])).rows;
    return row ? toSession(row) : null;
  }

  async findByTokenHashWithUser(tokenHash: string): Promise<{ session: Session; user: User | null } | null> {
    const [row] = (await rawQuery<Record<string, unknown>>(this.db, SQL.findByTokenHashWithUser, [tokenHash])).rows;
    return row ? sessionAndUser(row) : null;
  }

  async touch(id: string, now: number, expiresAt?: number): Promise<void> {
    if (expiresAt === undefined) await rawQuery(this.db, SQL.touch, [now, id]);
    else await rawQuery(this.db, SQL.touchAndExtend, [now, expiresAt, id]);
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

  async listByUser(userId: string): Promise<Session[]> {
    const rows = await this.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').execute();
    return rows.map(toSession);
  }

  async reauthenticate(id: string, authTime: number, amr: string[]): Promise<boolean> {
    const result = await this.db.updateTable('sessions').set({ auth_time: authTime, amr: amr.join(' ') }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
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
    const [row] = (await rawQuery<Selectable<RefreshTokensTable>>(this.db, SQL.findRefreshToken, [hash])).rows;
    return row ? toRefreshToken(row) : null;
  }

  async findRefreshTokenWithSession(hash: string): Promise<{ token: RefreshToken; session: Session; user: User | null } | null> {
    const [row] = (await rawQuery<Record<string, unknown>>(this.db, SQL.findRefreshTokenWithSession, [hash])).rows;
    return row ? { token: toRefreshToken(part<Selectable<RefreshTokensTable>>(row, 't_', TOKEN_COLUMNS)), ...sessionAndUser(row) } : null;
  }

  async claimRefreshToken(hash: string, now: number): Promise<boolean> {
    return changedRows(await rawQuery(this.db, SQL.claimRefreshToken, [now, hash])) === 1;
  }

  async insertRefreshToken(token: RefreshToken): Promise<void> {
    await rawQuery(this.db, SQL.insertRefreshToken, [token.hash, token.sessionId, token.parentHash, token.createdAt, token.usedAt, token.expiresAt]);
  }

  async rotate(hash: string, successor: { hash: string; expiresAt: number }, now: number): Promise<Rotated | null> {
    if (isPostgres(this.db)) {
      const parameters = [hash, now, successor.hash, successor.expiresAt];
      // Prepared once per connection on the pool (raw-query.ts); inside a transaction, through it, unnamed.
      const { rows } = await (preparedOnPool<Record<string, unknown>>(this.db, ROTATE_POSTGRES_STATEMENT, parameters) ??
        this.db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(ROTATE_POSTGRES, parameters)));
      const [row] = rows;
      return row ? rotatedFrom(row, row.rotated === true) : null;
    }
    // SQLite, no transaction open on the connection: the whole rotation at once, synchronously.
    const sqlite = idleSqlite(this.db);
    if (sqlite) return sqliteRotation(sqlite)(hash, successor, now);
    // Inside a caller's transaction, or waiting for another one to end: the same steps as statements.
    return atomically(this.db, async (db) => {
      const [row] = (await rawQuery<Record<string, unknown>>(db, SQL.findRefreshTokenWithSession, [hash])).rows;
      if (!row) return null;
      if (!rotatable(row, now) || changedRows(await rawQuery(db, SQL.claimRefreshToken, [now, hash])) !== 1) return rotatedFrom(row, false);
      await rawQuery(db, SQL.insertRefreshToken, [successor.hash, row.s_id, hash, now, null, successor.expiresAt]);
      await rawQuery(db, SQL.touchAndExtend, [now, successor.expiresAt, row.s_id]);
      return rotatedFrom(row, true);
    });
  }
}
