import type { Selectable } from 'kysely';
import type { CreateWithIdentityResult, Identity, IdentityStore, UnlinkResult } from '../oauth/store.ts';
import type { User } from '../users/store.ts';
import { isUniqueViolation } from './connect.ts';
import type { Db, IdentitiesTable } from './schema.ts';
import { SqlUserStore } from './user-store.ts';

function toIdentity(row: Selectable<IdentitiesTable>): Identity {
  return {
    provider: row.provider,
    subject: row.subject,
    userId: row.user_id,
    email: row.email,
    emailVerified: Number(row.email_verified) === 1,
    createdAt: Number(row.created_at),
  };
}

function toRow(identity: Identity): IdentitiesTable {
  return {
    provider: identity.provider,
    subject: identity.subject,
    user_id: identity.userId,
    email: identity.email,
    email_verified: identity.emailVerified ? 1 : 0,
    created_at: identity.createdAt,
  };
}

/** Thrown inside a transaction to roll it back with a domain answer. */
class Rollback extends Error {
  constructor(readonly result: CreateWithIdentityResult) {
    super(result);
  }
}

export class SqlIdentityStore implements IdentityStore {
  constructor(private readonly db: Db) {}

  async find(provider: string, subject: string): Promise<Identity | null> {
    const row = await this.db.selectFrom('identities').selectAll().where('provider', '=', provider).where('subject', '=', subject).executeTakeFirst();
    return row ? toIdentity(row) : null;
  }

  async listByUser(userId: string): Promise<Identity[]> {
    const rows = await this.db.selectFrom('identities').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('provider').execute();
    return rows.map(toIdentity);
  }

  async createUserWithIdentity(user: User, identity: Identity): Promise<CreateWithIdentityResult> {
    try {
      await this.db.transaction().execute(async (trx) => {
        if (!(await new SqlUserStore(trx).create(user))) throw new Rollback('email_taken');
        try {
          await trx.insertInto('identities').values(toRow(identity)).execute();
        } catch (err) {
          if (isUniqueViolation(err)) throw new Rollback('identity_taken');
          throw err;
        }
      });
      return 'created';
    } catch (err) {
      if (err instanceof Rollback) return err.result;
      throw err;
    }
  }

  async link(identity: Identity): Promise<boolean> {
    try {
      await this.db.insertInto('identities').values(toRow(identity)).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async updateProfile(provider: string, subject: string, email: string | null, emailVerified: boolean): Promise<void> {
    await this.db
      .updateTable('identities')
      .set({ email, email_verified: emailVerified ? 1 : 0 })
      .where('provider', '=', provider)
      .where('subject', '=', subject)
      .execute();
  }

  async unlink(userId: string, provider: string): Promise<UnlinkResult> {
    return this.db.transaction().execute(async (trx) => {
      // Writing the user row first locks it (PostgreSQL) so that two unlinks at once cannot both pass the
      // check and leave the account with no way in; SQLite runs one transaction at a time anyway.
      const user = await trx
        .updateTable('users')
        .set((eb) => ({ updated_at: eb.ref('updated_at') }))
        .where('id', '=', userId)
        .returning(['password_hash'])
        .executeTakeFirst();
      if (!user) return 'not_found';
      const identities = await trx.selectFrom('identities').select(['provider']).where('user_id', '=', userId).execute();
      const here = identities.filter((i) => i.provider === provider).length;
      if (here === 0) return 'not_found';
      if (user.password_hash === null && identities.length === here) return 'last_method';
      await trx.deleteFrom('identities').where('user_id', '=', userId).where('provider', '=', provider).execute();
      return 'unlinked';
    });
  }
}
