import { sql, type Selectable, type Updateable } from 'kysely';
import type { User, UserListQuery, UserPatch, UserStore } from '../users/store.ts';
import { isLocale } from '../i18n/index.ts';
import { isUniqueViolation } from './connect.ts';
import { rawQuery } from './raw-query.ts';
import type { Db, UsersTable } from './schema.ts';

/** The columns of a user row, for joined reads that name every column. */
export const USER_COLUMNS = ['id', 'email', 'name', 'role', 'password_hash', 'email_verified_at', 'disabled_at', 'created_at', 'updated_at', 'last_login_at', 'locale'] as const;

const SELECT_BY_ID = `select ${USER_COLUMNS.join(', ')} from users where id = ?`;
const SELECT_BY_EMAIL = `select ${USER_COLUMNS.join(', ')} from users where email = ?`;

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
    locale: isLocale(row.locale) ? row.locale : null,
  };
}

/** Escapes LIKE wildcards so a search for `a_b` finds `a_b` only. */
function likePattern(q: string): string {
  return `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

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
          created_at: user.createdAt,
          updated_at: user.updatedAt,
          last_login_at: user.lastLoginAt,
          locale: user.locale,
        })
        .execute();
      return user;
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  // Every authenticated request and every login reads a user: fixed SQL text (see raw-query.ts), its columns by
  // name (a statement prepared on PostgreSQL keeps working when a later migration adds a column).
  async findById(id: string): Promise<User | null> {
    const [row] = (await rawQuery<Selectable<UsersTable>>(this.db, SELECT_BY_ID, [id])).rows;
    return row ? toUser(row) : null;
  }

  async findByEmail(email: string): Promise<User | null> {
    const [row] = (await rawQuery<Selectable<UsersTable>>(this.db, SELECT_BY_EMAIL, [email])).rows;
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
    if (patch.locale !== undefined) values.locale = patch.locale;
    const row = await this.db.updateTable('users').set(values).where('id', '=', id).returningAll().executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async changeEmail(id: string, email: string, now: number): Promise<User | 'email_taken' | null> {
    try {
      const row = await this.db.updateTable('users').set({ email, email_verified_at: now, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirst();
      return row ? toUser(row) : null;
    } catch (err) {
      if (isUniqueViolation(err)) return 'email_taken';
      throw err;
    }
  }

  async lock(id: string): Promise<User | null> {
    // A no-op write takes the row lock (PostgreSQL) until the transaction ends; SQLite has one writer anyway.
    const row = await this.db.updateTable('users').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('id', '=', id).returningAll().executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async list(query: UserListQuery): Promise<User[]> {
    let select = this.db.selectFrom('users').selectAll().orderBy('id').limit(query.limit);
    if (query.afterId) select = select.where('id', '>', query.afterId);
    if (query.disabled !== undefined) select = select.where('disabled_at', query.disabled ? 'is not' : 'is', null);
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
