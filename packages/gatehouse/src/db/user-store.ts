import { sql, type Selectable, type Updateable } from 'kysely';
import type { AuditEvent } from '../audit/store.ts';
import type { RefreshToken, Session } from '../sessions/store.ts';
import type { User, UserListQuery, UserPatch, UserStore } from '../users/store.ts';
import { SqlAuditStore } from './audit-store.ts';
import { SqlSessionStore } from './session-store.ts';
import { isUniqueViolation } from './connect.ts';
import { rawQuery } from './raw-query.ts';
import type { Db, UsersTable } from './schema.ts';

export function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    passwordHash: row.password_hash,
    emailVerifiedAt: row.email_verified_at,
    disabledAt: row.disabled_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastLoginAt: row.last_login_at,
  };
}

/** Escapes LIKE wildcards so a search for `a_b` finds `a_b` only. */
function likePattern(q: string): string {
  return `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Thrown inside the sign-up transaction to roll it back. */
class EmailTaken extends Error {}

export class SqlUserStore implements UserStore {
  constructor(private readonly db: Db) {}

  async create(user: User): Promise<User | null> {
    try {
      await this.db
        .insertInto('users')
        .values({
          id: user.id,
          email: user.email,
          name: user.name,
          role: user.role,
          password_hash: user.passwordHash,
          email_verified_at: user.emailVerifiedAt,
          disabled_at: user.disabledAt,
          tokens_valid_after: 0,
          created_at: user.createdAt,
          updated_at: user.updatedAt,
          last_login_at: user.lastLoginAt,
        })
        .execute();
      return user;
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  async createWithSession(user: User, session: Session, secret: { tokenHash: string | null; refresh: RefreshToken | null }, event: AuditEvent): Promise<User | null> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        if (!(await new SqlUserStore(trx).create(user))) throw new EmailTaken();
        await new SqlSessionStore(trx, true).create(session, secret);
        await new SqlAuditStore(trx).append(event);
        return user;
      });
    } catch (err) {
      if (err instanceof EmailTaken) return null;
      throw err;
    }
  }

  // Every authenticated request and every login reads a user: fixed SQL text (see raw-query.ts).
  async findById(id: string): Promise<User | null> {
    const [row] = (await rawQuery<Selectable<UsersTable>>(this.db, 'select * from users where id = ?', [id])).rows;
    return row ? toUser(row) : null;
  }

  async findByEmail(email: string): Promise<User | null> {
    const [row] = (await rawQuery<Selectable<UsersTable>>(this.db, 'select * from users where email = ?', [email])).rows;
    return row ? toUser(row) : null;
  }

  async update(id: string, patch: UserPatch, now: number): Promise<User | null> {
    const values: Updateable<UsersTable> = { updated_at: now };
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.role !== undefined) values.role = patch.role;
    if (patch.passwordHash !== undefined) values.password_hash = patch.passwordHash;
    if (patch.emailVerifiedAt !== undefined) values.email_verified_at = patch.emailVerifiedAt;
    if (patch.disabledAt !== undefined) values.disabled_at = patch.disabledAt;
    if (patch.lastLoginAt !== undefined) values.last_login_at = patch.lastLoginAt;
    const row = await this.db.updateTable('users').set(values).where('id', '=', id).returningAll().executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async list(query: UserListQuery): Promise<User[]> {
    let select = this.db.selectFrom('users').selectAll().orderBy('id').limit(query.limit);
    if (query.afterId) select = select.where('id', '>', query.afterId);
    if (query.q) {
      const pattern = likePattern(query.q);
      // SQLite has no default LIKE escape character; name one for both databases.
      select = select.where(sql<boolean>`(email like ${pattern} escape '\\' or lower(name) like ${pattern} escape '\\')`);
    }
    return (await select.execute()).map(toUser);
  }

  async countActiveAdmins(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'admin')
      .where('disabled_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
