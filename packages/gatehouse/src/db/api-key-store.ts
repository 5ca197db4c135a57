import type { Selectable } from 'kysely';
import type { ApiKey, ApiKeyStore } from '../api-keys/store.ts';
import type { ApiKeysTable, Db } from './schema.ts';

function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    prefix: row.prefix,
    hash: row.hash,
    scopes: row.scopes ? row.scopes.split(' ') : [],
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

export class SqlApiKeyStore implements ApiKeyStore {
  constructor(private readonly db: Db) {}

  async create(key: ApiKey): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({
        id: key.id,
        user_id: key.userId,
        name: key.name,
        prefix: key.prefix,
        hash: key.hash,
        scopes: key.scopes.join(' '),
        created_at: key.createdAt,
        last_used_at: null,
        expires_at: key.expiresAt,
        revoked_at: null,
      })
      .execute();
  }

  async findByPrefix(prefix: string): Promise<ApiKey | null> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('prefix', '=', prefix).executeTakeFirst();
    return row ? toApiKey(row) : null;
  }

  private live(userId: string, now: number) {
    return this.db
      .selectFrom('api_keys')
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
  }

  async listLive(userId: string, now: number): Promise<ApiKey[]> {
    return (await this.live(userId, now).selectAll().orderBy('created_at', 'desc').execute()).map(toApiKey);
  }

  async listByUser(userId: string): Promise<ApiKey[]> {
    return (await this.db.selectFrom('api_keys').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').execute()).map(toApiKey);
  }

  async countLive(userId: string, now: number): Promise<number> {
    const row = await this.live(userId, now).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async revoke(userId: string, id: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async touch(id: string, now: number): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
  }
}
