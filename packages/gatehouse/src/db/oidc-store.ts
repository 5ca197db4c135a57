// The OpenID provider's tables (migration 0011_oidc). Typed here rather than in schema.ts: nothing else reads them.
import type { Kysely } from 'kysely';
import type { ClientMetadata, OidcClient, OidcClientStore, OidcPayloadStore } from '../oidc/store.ts';
import type { Db } from './schema.ts';

interface OidcPayloadsTable {
  id: string;
  kind: string;
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  /** Sessions and grants: whose they are. */
  account_id: string | null;
  expires_at: number | null;
  consumed_at: number | null;
}

interface OidcClientsTable {
  client_id: string;
  name: string;
  secret_hash: string | null;
  metadata: string;
  first_party: number;
  created_at: number;
  updated_at: number;
}

interface OidcTables {
  oidc_payloads: OidcPayloadsTable;
  oidc_clients: OidcClientsTable;
}

type OidcDb = Kysely<OidcTables>;

function payloadOf(row: Pick<OidcPayloadsTable, 'payload' | 'consumed_at'> | undefined): Record<string, unknown> | undefined {
  if (!row) return undefined;
  const payload = JSON.parse(row.payload) as Record<string, unknown>;
  return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(row.consumed_at / 1000) };
}

export class SqlOidcPayloadStore implements OidcPayloadStore {
  private readonly db: OidcDb;

  constructor(db: Db) {
    this.db = db as unknown as OidcDb;
  }

  async upsert(kind: string, id: string, payload: Record<string, unknown>, expiresAt: number | null): Promise<void> {
    const row = {
      kind,
      id,
      payload: JSON.stringify(payload),
      grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
      user_code: typeof payload.userCode === 'string' ? payload.userCode : null,
      uid: typeof payload.uid === 'string' ? payload.uid : null,
      account_id: typeof payload.accountId === 'string' ? payload.accountId : null,
      expires_at: expiresAt,
      consumed_at: null,
    };
    await this.db
      .insertInto('oidc_payloads')
      .values(row)
      .onConflict((oc) => oc.columns(['kind', 'id']).doUpdateSet({ payload: row.payload, grant_id: row.grant_id, user_code: row.user_code, uid: row.uid, account_id: row.account_id, expires_at: row.expires_at }))
      .execute();
  }

  private live(kind: string, now: number) {
    return this.db
      .selectFrom('oidc_payloads')
      .select(['payload', 'consumed_at'])
      .where('kind', '=', kind)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
  }

  async find(kind: string, id: string, now: number) {
    return payloadOf(await this.live(kind, now).where('id', '=', id).executeTakeFirst());
  }

  async findByUid(kind: string, uid: string, now: number) {
    return payloadOf(await this.live(kind, now).where('uid', '=', uid).executeTakeFirst());
  }

  async findByUserCode(kind: string, userCode: string, now: number) {
    return payloadOf(await this.live(kind, now).where('user_code', '=', userCode).executeTakeFirst());
  }

  async consume(kind: string, id: string, now: number): Promise<void> {
    await this.db.updateTable('oidc_payloads').set({ consumed_at: now }).where('kind', '=', kind).where('id', '=', id).where('consumed_at', 'is', null).execute();
  }

  async consumedAt(kind: string, id: string): Promise<number | null> {
    const row = await this.db.selectFrom('oidc_payloads').select('consumed_at').where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
    return row?.consumed_at === undefined || row.consumed_at === null ? null : Number(row.consumed_at);
  }

  async destroy(kind: string, id: string): Promise<void> {
    await this.db.deleteFrom('oidc_payloads').where('kind', '=', kind).where('id', '=', id).execute();
  }

  async revokeByGrantId(kind: string, grantId: string): Promise<void> {
    await this.db.deleteFrom('oidc_payloads').where('kind', '=', kind).where('grant_id', '=', grantId).execute();
  }

  async listGrants(accountId: string, now: number): Promise<Array<Record<string, unknown>>> {
    const rows = await this.live('Grant', now).where('account_id', '=', accountId).execute();
    return rows.map((row) => payloadOf(row)!);
  }

  async listByAccount(kind: string, accountId: string, now: number): Promise<Array<Record<string, unknown>>> {
    const rows = await this.live(kind, now).where('account_id', '=', accountId).execute();
    return rows.map((row) => payloadOf(row)!);
  }

  async deleteGrant(grantId: string): Promise<void> {
    await this.db
      .deleteFrom('oidc_payloads')
      .where((eb) => eb.or([eb('grant_id', '=', grantId), eb.and([eb('kind', '=', 'Grant'), eb('id', '=', grantId)])]))
      .execute();
  }

  /** Maintenance: up to `limit` rows expired before `before` (oidc-provider's finished codes, tokens, sessions…). */
  async deleteExpiredBatch(before: number, limit: number): Promise<number> {
    const expired = this.db.selectFrom('oidc_payloads').select(['kind', 'id']).where('expires_at', '<', before).limit(limit);
    const rows = await expired.execute();
    if (rows.length === 0) return 0;
    let deleted = 0;
    for (const kind of new Set(rows.map((r) => r.kind))) {
      const ids = rows.filter((r) => r.kind === kind).map((r) => r.id);
      const result = await this.db.deleteFrom('oidc_payloads').where('kind', '=', kind).where('id', 'in', ids).where('expires_at', '<', before).executeTakeFirst();
      deleted += Number(result.numDeletedRows);
    }
    return deleted;
  }

  async deleteExpired(before: number): Promise<number> {
    const result = await this.db.deleteFrom('oidc_payloads').where('expires_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function clientOf(row: OidcClientsTable): OidcClient {
  return {
    clientId: row.client_id,
    name: row.name,
    secretHash: row.secret_hash,
    metadata: JSON.parse(row.metadata) as ClientMetadata,
    firstParty: row.first_party === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export class SqlOidcClientStore implements OidcClientStore {
  private readonly db: OidcDb;

  constructor(db: Db) {
    this.db = db as unknown as OidcDb;
  }

  async insert(client: OidcClient): Promise<void> {
    await this.db
      .insertInto('oidc_clients')
      .values({
        client_id: client.clientId,
        name: client.name,
        secret_hash: client.secretHash,
        metadata: JSON.stringify(client.metadata),
        first_party: client.firstParty ? 1 : 0,
        created_at: client.createdAt,
        updated_at: client.updatedAt,
      })
      .execute();
  }

  async find(clientId: string): Promise<OidcClient | null> {
    const row = await this.db.selectFrom('oidc_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    return row ? clientOf(row) : null;
  }

  async list(): Promise<OidcClient[]> {
    const rows = await this.db.selectFrom('oidc_clients').selectAll().orderBy('created_at').orderBy('client_id').execute();
    return rows.map(clientOf);
  }

  async update(client: OidcClient): Promise<boolean> {
    const result = await this.db
      .updateTable('oidc_clients')
      .set({ name: client.name, secret_hash: client.secretHash, metadata: JSON.stringify(client.metadata), first_party: client.firstParty ? 1 : 0, updated_at: client.updatedAt })
      .where('client_id', '=', client.clientId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(clientId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('oidc_clients').where('client_id', '=', clientId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
