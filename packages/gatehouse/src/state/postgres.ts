import { sql } from 'kysely';
import type { Db } from '../db/schema.ts';
import type { Counter, SharedState } from './state.ts';

/**
 * Shared state in the `shared_state` table, for instances on one PostgreSQL without Redis. Every operation is
 * one statement, so it is atomic across instances: a counter is an upsert that restarts an expired window, a
 * one-time code is a `delete … returning`. Expired rows are invisible at once and swept every minute.
 * Instances compare expiries against their own clocks, which must agree to within a second or so (NTP).
 */
export class PostgresState implements SharedState {
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
    private readonly prefix = '',
  ) {
    this.sweeper = setInterval(() => void this.sweep().catch(() => {}), 60_000);
    this.sweeper.unref();
  }

  async sweep(): Promise<number> {
    const result = await this.db.deleteFrom('shared_state').where('expires_at', '<=', this.now()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async hit(key: string, windowMs: number): Promise<Counter> {
    const now = this.now();
    const row = await this.db
      .insertInto('shared_state')
      .values({ key: this.prefix + key, value: '', count: 1, expires_at: now + windowMs })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          count: sql`case when shared_state.expires_at <= ${now} then 1 else shared_state.count + 1 end`,
          expires_at: sql`case when shared_state.expires_at <= ${now} then excluded.expires_at else shared_state.expires_at end`,
        }),
      )
      .returning(['count', 'expires_at'])
      .executeTakeFirstOrThrow();
    return { count: Number(row.count), resetInMs: Number(row.expires_at) - now };
  }

  async peek(key: string): Promise<Counter | null> {
    const now = this.now();
    const row = await this.db
      .selectFrom('shared_state')
      .select(['count', 'expires_at'])
      .where('key', '=', this.prefix + key)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row ? { count: Number(row.count), resetInMs: Number(row.expires_at) - now } : null;
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    const expiresAt = this.now() + Math.max(1, Math.ceil(ttlMs));
    await this.db
      .insertInto('shared_state')
      .values({ key: this.prefix + key, value, count: 0, expires_at: expiresAt })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, count: 0, expires_at: expiresAt }))
      .execute();
  }

  async get(key: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('shared_state')
      .select('value')
      .where('key', '=', this.prefix + key)
      .where('expires_at', '>', this.now())
      .executeTakeFirst();
    return row?.value ?? null;
  }

  async take(key: string): Promise<string | null> {
    const row = await this.db
      .deleteFrom('shared_state')
      .where('key', '=', this.prefix + key)
      .where('expires_at', '>', this.now())
      .returning('value')
      .executeTakeFirst();
    return row?.value ?? null;
  }

  async delete(key: string): Promise<void> {
    await this.db.deleteFrom('shared_state').where('key', '=', this.prefix + key).execute();
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    // The connection pool belongs to the database handle, which closes it.
    clearInterval(this.sweeper);
  }
}
