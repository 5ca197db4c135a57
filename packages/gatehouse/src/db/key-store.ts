import { PostgresAdapter, sql } from 'kysely';
import type { KeyStore, SigningKeyRecord } from '../crypto/keys.ts';
import type { Db } from './schema.ts';

export class SqlKeyStore implements KeyStore {
  constructor(private readonly db: Db) {}

  async list(): Promise<SigningKeyRecord[]> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
    return rows.map((row) => ({
      kid: row.kid,
      alg: row.alg,
      publicJwk: JSON.parse(row.public_jwk),
      privateKey: row.private_key,
      createdAt: row.created_at,
      retiredAt: row.retired_at,
    }));
  }

  async insertAndRetireOthers(key: SigningKeyRecord, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // Two instances rotating at once (both starting on an empty table) must take turns, or each retires only
      // what it saw and both new keys stay live. The lock is self-conflicting and lets reads of the ring through.
      if (trx.getExecutor().adapter instanceof PostgresAdapter) await sql`lock table signing_keys in share row exclusive mode`.execute(trx);
      await trx.updateTable('signing_keys').set({ retired_at: now }).where('retired_at', 'is', null).execute();
      await trx
        .insertInto('signing_keys')
        .values({
          kid: key.kid,
          alg: key.alg,
          public_jwk: JSON.stringify(key.publicJwk),
          private_key: key.privateKey,
          created_at: key.createdAt,
          retired_at: null,
        })
        .execute();
    });
  }

  async deleteRetiredBefore(before: number): Promise<number> {
    const result = await this.db.deleteFrom('signing_keys').where('retired_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
