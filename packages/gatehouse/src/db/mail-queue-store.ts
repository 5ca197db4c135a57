// The mail queue's SQL. Bind it to a transaction (`new SqlMailQueueStore(trx, …)`) to enqueue a message that
// commits, or rolls back, with the change it announces.
import { sql, type Kysely } from 'kysely';
import { uuidv7 } from '../crypto/random.ts';
import type { MailSealer } from '../mail/seal.ts';
import type { MailMessage } from '../mail/transport.ts';
import type { Database, Dialect } from './schema.ts';

export interface QueuedMail {
  id: string;
  /** Attempts including the one the claim is for. */
  attempts: number;
  createdAt: number;
  /** null when it cannot be opened (another GATEHOUSE_SECRET sealed it): it can never be sent. */
  message: MailMessage | null;
}

export interface MailQueueCounts {
  pending: number;
  dead: number;
}

export interface MailQueueStore {
  enqueue(message: MailMessage, now: number): Promise<string>;
  /**
   * Takes up to `limit` due messages for one worker: their attempt count goes up and they are not due again
   * until `leaseUntil`, so another worker (or instance) does not send them too, and a worker that dies
   * mid-send leaves them to be picked up once the lease ends.
   */
  claimDue(now: number, limit: number, leaseUntil: number): Promise<QueuedMail[]>;
  markSent(id: string, now: number): Promise<void>;
  markFailed(id: string, nextAttemptAt: number, error: string): Promise<void>;
  markDead(id: string, error: string): Promise<void>;
  counts(): Promise<MailQueueCounts>;
}

export class SqlMailQueueStore implements MailQueueStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly sealer: MailSealer,
  ) {}

  async enqueue(message: MailMessage, now: number): Promise<string> {
    const id = uuidv7(now);
    await this.db
      .insertInto('mail_queue')
      .values({ id, status: 'pending', message: this.sealer.seal(id, message), attempts: 0, created_at: now, next_attempt_at: now, sent_at: null, last_error: null })
      .execute();
    return id;
  }

  async claimDue(now: number, limit: number, leaseUntil: number): Promise<QueuedMail[]> {
    const rows = await this.db
      // The batch is chosen once, in a materialised CTE: as `id in (subquery)` PostgreSQL may plan the limited
      // subquery as the inner side of a semi-join and run it again for every row, claiming far more than `limit`.
      .with(
        (cte) => cte('due').materialized(),
        (db) => {
          const due = db.selectFrom('mail_queue').select('id').where('status', '=', 'pending').where('next_attempt_at', '<=', now).orderBy('next_attempt_at').limit(limit);
          // Instances on one PostgreSQL skip rows another is claiming instead of waiting for them; SQLite has one writer.
          return this.dialect === 'postgres' ? due.forUpdate().skipLocked() : due;
        },
      )
      .updateTable('mail_queue')
      .set({ attempts: sql<number>`attempts + 1`, next_attempt_at: leaseUntil })
      .where('id', 'in', (eb) => eb.selectFrom('due').select('id'))
      // The lease is re-checked on the row itself: PostgreSQL re-evaluates it after a lock wait.
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .returning(['id', 'attempts', 'created_at', 'message'])
      .execute();
    return rows.map((row) => ({ id: row.id, attempts: row.attempts, createdAt: row.created_at, message: this.openOrNull(row.id, row.message) }));
  }

  private openOrNull(id: string, sealed: string): MailMessage | null {
    try {
      return this.sealer.open(id, sealed);
    } catch {
      return null;
    }
  }

  async markSent(id: string, now: number): Promise<void> {
    // The body goes as soon as it is delivered; the row stays for the metrics until maintenance deletes it.
    await this.db.updateTable('mail_queue').set({ status: 'sent', sent_at: now, message: '', last_error: null }).where('id', '=', id).execute();
  }

  async markFailed(id: string, nextAttemptAt: number, error: string): Promise<void> {
    await this.db.updateTable('mail_queue').set({ next_attempt_at: nextAttemptAt, last_error: error.slice(0, 500) }).where('id', '=', id).execute();
  }

  async markDead(id: string, error: string): Promise<void> {
    await this.db.updateTable('mail_queue').set({ status: 'dead', message: '', last_error: error.slice(0, 500) }).where('id', '=', id).execute();
  }

  async counts(): Promise<MailQueueCounts> {
    const rows = await this.db.selectFrom('mail_queue').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).where('status', 'in', ['pending', 'dead']).groupBy('status').execute();
    const count = (status: string) => Number(rows.find((r) => r.status === status)?.n ?? 0);
    return { pending: count('pending'), dead: count('dead') };
  }
}
