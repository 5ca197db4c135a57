import type { OneTimePurpose, OneTimeToken, OneTimeTokenStore } from '../recovery/store.ts';
import type { Db } from './schema.ts';
import { atomically } from './atomically.ts';

export class SqlOneTimeTokenStore implements OneTimeTokenStore {
  constructor(private readonly db: Db) {}

  async replace(token: OneTimeToken): Promise<void> {
    await atomically(this.db, async (trx) => {
      await trx
        .updateTable('one_time_tokens')
        .set({ used_at: token.createdAt })
        .where('user_id', '=', token.userId)
        .where('purpose', '=', token.purpose)
        .where('used_at', 'is', null)
        .execute();
      await trx
        .insertInto('one_time_tokens')
        .values({ hash: token.hash, user_id: token.userId, purpose: token.purpose, created_at: token.createdAt, expires_at: token.expiresAt, used_at: null, email: token.email ?? null })
        .execute();
    });
  }

  async add(token: OneTimeToken): Promise<void> {
    await this.db
      .insertInto('one_time_tokens')
      .values({ hash: token.hash, user_id: token.userId, purpose: token.purpose, created_at: token.createdAt, expires_at: token.expiresAt, used_at: null, email: token.email ?? null })
      .execute();
  }

  async findUsable(hash: string, purpose: OneTimePurpose, now: number): Promise<OneTimeToken | null> {
    const row = await this.db
      .selectFrom('one_time_tokens')
      .selectAll()
      .where('hash', '=', hash)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (!row) return null;
    return { hash: row.hash, userId: row.user_id, purpose: row.purpose as OneTimePurpose, createdAt: row.created_at, expiresAt: row.expires_at, usedAt: row.used_at, ...(row.email === null ? {} : { email: row.email }) };
  }

  async consume(hash: string, purpose: OneTimePurpose, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('one_time_tokens')
      .set({ used_at: now })
      .where('hash', '=', hash)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async retire(userId: string, purpose: OneTimePurpose, now: number): Promise<number> {
    const result = await this.db
      .updateTable('one_time_tokens')
      .set({ used_at: now })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
