import type { Selectable } from 'kysely';
import type { Identity, IdentityStore } from '../methods/social/store.ts';
import { isUniqueViolation } from './connect.ts';
import type { Db, IdentitiesTable } from './schema.ts';

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

  async deleteByProvider(userId: string, provider: string): Promise<number> {
    const result = await this.db.deleteFrom('identities').where('user_id', '=', userId).where('provider', '=', provider).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
