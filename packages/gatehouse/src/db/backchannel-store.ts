// The back-channel logout queue's SQL (migration 0012_backchannel_logout): one row per logout token to POST.
// Claimed with a lease as the mail queue's rows are, so two instances never deliver one twice at once.
import { sql, type Kysely } from 'kysely';
import { uuidv7 } from '../crypto/random.ts';
import type { Db, Dialect } from './schema.ts';

interface BackchannelLogoutsTable {
  id: string;
  client_id: string;
  uri: string;
  token: string;
  status: 'pending' | 'sent' | 'dead';
  attempts: number;
  created_at: number;
  next_attempt_at: number;
  sent_at: number | null;
  last_error: string | null;
}

type BackchannelDb = Kysely<{ backchannel_logouts: BackchannelLogoutsTable }>;

export interface QueuedLogout {
  id: string;
  clientId: string;
  uri: string;
  token: string;
  /** Attempts including the one the claim is for. */
  attempts: number;
}

export class SqlBackchannelStore {
  private readonly db: BackchannelDb;

  constructor(
    db: Db,
    private readonly dialect: Dialect,
  ) {
    this.db = db as unknown as BackchannelDb;
  }

  async enqueue(input: { clientId: string; uri: string; token: string }, now: number): Promise<string> {
    const id = uuidv7(now);
    await this.db
      .insertInto('backchannel_logouts')
      .values({ id, client_id: input.clientId, uri: input.uri, token: input.token, status: 'pending', attempts: 0, created_at: now, next_attempt_at: now, sent_at: null, last_error: null })
      .execute();
    return id;
  }

  /** Up to `limit` due rows for this worker, leased until `leaseUntil` (see SqlMailQueueStore.claimDue). */
  async claimDue(now: number, limit: number, leaseUntil: number): Promise<QueuedLogout[]> {
    const rows = await this.db
      .with(
        (cte) => cte('due').materialized(),
        (db) => {
          const due = db.selectFrom('backchannel_logouts').select('id').where('status', '=', 'pending').where('next_attempt_at', '<=', now).orderBy('next_attempt_at').limit(limit);
          return this.dialect === 'postgres' ? due.forUpdate().skipLocked() : due;
        },
      )
      .updateTable('backchannel_logouts')
      .set({ attempts: sql<number>`attempts + 1`, next_attempt_at: leaseUntil })
      .where('id', 'in', (eb) => eb.selectFrom('due').select('id'))
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .returning(['id', 'client_id', 'uri', 'token', 'attempts'])
      .execute();
    return rows.map((r) => ({ id: r.id, clientId: r.client_id, uri: r.uri, token: r.token, attempts: r.attempts }));
  }

  async markSent(id: string, now: number): Promise<void> {
    await this.db.updateTable('backchannel_logouts').set({ status: 'sent', sent_at: now, token: '', last_error: null }).where('id', '=', id).execute();
  }

  async markFailed(id: string, nextAttemptAt: number, error: string): Promise<void> {
    await this.db.updateTable('backchannel_logouts').set({ next_attempt_at: nextAttemptAt, last_error: error.slice(0, 500) }).where('id', '=', id).execute();
  }

  async markDead(id: string, error: string): Promise<void> {
    await this.db.updateTable('backchannel_logouts').set({ status: 'dead', token: '', last_error: error.slice(0, 500) }).where('id', '=', id).execute();
  }

  async list(): Promise<BackchannelLogoutsTable[]> {
    return this.db.selectFrom('backchannel_logouts').selectAll().orderBy('id').execute();
  }
}
