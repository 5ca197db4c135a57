import type { Selectable } from 'kysely';
import type { Factor, FactorStore, FactorType, PasskeyCredential, PendingReset } from '../factors/store.ts';
import { changedRows, rawQuery } from './raw-query.ts';
import type { Db, MfaFactorsTable } from './schema.ts';

function toFactor(row: Selectable<MfaFactorsTable>): Factor {
  return {
    id: row.id,
    userId: row.user_id,
    type: row.type as FactorType,
    name: row.name,
    secret: row.secret,
    lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
    confirmedAt: row.confirmed_at,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    webauthn: row.credential_id === null ? null : toPasskey(row),
  };
}

function toPasskey(row: Selectable<MfaFactorsTable>): PasskeyCredential {
  return {
    credentialId: row.credential_id!,
    publicKey: row.public_key ?? '',
    counter: Number(row.sign_count ?? 0),
    transports: row.transports ? row.transports.split(' ') : [],
    userVerified: Number(row.user_verified) === 1,
    discoverable: row.discoverable === null ? null : Number(row.discoverable) === 1,
    backupEligible: Number(row.backup_eligible) === 1,
    backedUp: Number(row.backed_up) === 1,
    aaguid: row.aaguid ?? '',
  };
}

const flag = (value: boolean | null | undefined) => (value === null || value === undefined ? null : value ? 1 : 0);

export class SqlFactorStore implements FactorStore {
  constructor(private readonly db: Db) {}

  async create(factor: Factor): Promise<void> {
    await this.db
      .insertInto('mfa_factors')
      .values({
        id: factor.id,
        user_id: factor.userId,
        type: factor.type,
        name: factor.name,
        secret: factor.secret,
        last_used_step: factor.lastUsedStep,
        confirmed_at: factor.confirmedAt,
        created_at: factor.createdAt,
        last_used_at: factor.lastUsedAt,
        credential_id: factor.webauthn?.credentialId ?? null,
        public_key: factor.webauthn?.publicKey ?? null,
        sign_count: factor.webauthn?.counter ?? null,
        transports: factor.webauthn ? factor.webauthn.transports.join(' ') : null,
        user_verified: flag(factor.webauthn?.userVerified),
        discoverable: flag(factor.webauthn?.discoverable),
        backup_eligible: flag(factor.webauthn?.backupEligible),
        backed_up: flag(factor.webauthn?.backedUp),
        aaguid: factor.webauthn?.aaguid ?? null,
      })
      .execute();
  }

  async find(id: string): Promise<Factor | null> {
    const row = await this.db.selectFrom('mfa_factors').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toFactor(row) : null;
  }

  async listByUser(userId: string): Promise<Factor[]> {
    const rows = await this.db.selectFrom('mfa_factors').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toFactor);
  }

  // Every password login asks: fixed SQL text (see raw-query.ts).
  async countConfirmed(userId: string): Promise<number> {
    const [row] = (await rawQuery<{ n: number | string }>(this.db, 'select count(*) as n from mfa_factors where user_id = ? and confirmed_at is not null', [userId])).rows;
    return Number(row?.n ?? 0);
  }

  async confirm(id: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('mfa_factors').set({ confirmed_at: now }).where('id', '=', id).where('confirmed_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async claimStep(id: string, step: number, now: number): Promise<boolean> {
    // The condition makes the claim atomic: PostgreSQL re-checks it after waiting on the row lock.
    const sql = 'update mfa_factors set last_used_step = ?, last_used_at = ? where id = ? and (last_used_step is null or last_used_step < ?)';
    return changedRows(await rawQuery(this.db, sql, [step, now, id, step])) === 1;
  }

  async touch(id: string, now: number): Promise<void> {
    await this.db.updateTable('mfa_factors').set({ last_used_at: now }).where('id', '=', id).execute();
  }

  async findByCredentialId(credentialId: string): Promise<Factor | null> {
    const row = await this.db.selectFrom('mfa_factors').selectAll().where('credential_id', '=', credentialId).where('type', '=', 'webauthn').executeTakeFirst();
    return row ? toFactor(row) : null;
  }

  async updateCounter(id: string, counter: number, backedUp: boolean, now: number): Promise<boolean> {
    // The condition makes the check and the write one step: PostgreSQL re-checks it after waiting on the row lock.
    const sql =
      counter === 0
        ? 'update mfa_factors set backed_up = ?, last_used_at = ? where id = ? and sign_count = 0'
        : 'update mfa_factors set sign_count = ?, backed_up = ?, last_used_at = ? where id = ? and sign_count < ?';
    const parameters = counter === 0 ? [backedUp ? 1 : 0, now, id] : [counter, backedUp ? 1 : 0, now, id, counter];
    return changedRows(await rawQuery(this.db, sql, parameters)) === 1;
  }

  async rename(userId: string, id: string, name: string): Promise<boolean> {
    const result = await this.db.updateTable('mfa_factors').set({ name }).where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async delete(userId: string, id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('mfa_factors').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async deleteAllOfUser(userId: string): Promise<number> {
    const result = await this.db.deleteFrom('mfa_factors').where('user_id', '=', userId).executeTakeFirst();
    await this.db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    return Number(result.numDeletedRows);
  }

  async deletePendingBefore(before: number): Promise<number> {
    const result = await this.db.deleteFrom('mfa_factors').where('confirmed_at', 'is', null).where('created_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async replaceRecoveryCodes(userId: string, hashes: string[], now: number): Promise<void> {
    await this.db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    if (hashes.length) await this.db.insertInto('recovery_codes').values(hashes.map((hash) => ({ hash, user_id: userId, created_at: now, used_at: null }))).execute();
  }

  async useRecoveryCode(userId: string, hash: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('recovery_codes')
      .set({ used_at: now })
      .where('hash', '=', hash)
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('recovery_codes')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async startReset(reset: PendingReset): Promise<boolean> {
    const result = await this.db
      .insertInto('mfa_resets')
      .values({ user_id: reset.userId, requested_at: reset.requestedAt, due_at: reset.dueAt })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async findReset(userId: string): Promise<PendingReset | null> {
    const row = await this.db.selectFrom('mfa_resets').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return row ? { userId: row.user_id, requestedAt: Number(row.requested_at), dueAt: Number(row.due_at) } : null;
  }

  async cancelReset(userId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('mfa_resets').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async listDueResets(now: number, limit: number): Promise<string[]> {
    const rows = await this.db.selectFrom('mfa_resets').select('user_id').where('due_at', '<=', now).orderBy('due_at').limit(limit).execute();
    return rows.map((r) => r.user_id);
  }

  async claimDueReset(userId: string, now: number): Promise<boolean> {
    const result = await this.db.deleteFrom('mfa_resets').where('user_id', '=', userId).where('due_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}
