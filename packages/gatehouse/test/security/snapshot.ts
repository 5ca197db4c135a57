// What a refused request must not change: a digest of every database table and of the shared state's
// values (revocations, OAuth state, one-time codes) on every backend. Left out, on purpose: audit events (a refusal is
// recorded; that is the point of an audit log) and rate-limit counters (a refusal counts; that is the point
// of a limit). Both are checked separately where it matters.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Redis } from 'ioredis';
import { LocalCounterFallback } from '../../src/state/fallback.ts';
import { MemoryState } from '../../src/state/memory.ts';
import { PostgresState } from '../../src/state/postgres.ts';
import { RedisState } from '../../src/state/redis.ts';
import type { TestServer } from '../helpers/app.ts';

// shared_state is PostgreSQL's shared state: its values are read with the other backends' below.
const SKIPPED_TABLES = new Set(['audit_events', 'shared_state']);
// An API key that authenticates is marked used (to the minute) even when the route then refuses it (403 for
// what only a signed-in person may do): bookkeeping of a credential that did prove itself, not a change the
// request asked for.
const SKIPPED_COLUMNS: Record<string, string[]> = { api_keys: ['last_used_at'] };

let tableNames: string[] | null = null;

async function tables(server: TestServer): Promise<string[]> {
  if (!tableNames) {
    const all = await server.runtime.database.db.introspection.getTables();
    tableNames = all.map((t) => t.name).filter((name) => !SKIPPED_TABLES.has(name) && !name.startsWith('gatehouse_migrations') && !name.startsWith('sqlite_')).sort();
  }
  return tableNames;
}

// Rate-limit counters (every `hit` key in src/): a refusal counts, so they are left out of the digest.
const COUNTER_PREFIXES = ['ip:', 'login:acct:', 'login:device:', 'login:ip:', 'signup:ip:', 'mail:acct:'];
const isCounter = (key: string) => COUNTER_PREFIXES.some((p) => key.startsWith(p));

/**
 * The values the shared state holds (not its counters), on each backend: the in-process store, PostgreSQL's
 * shared_state table, or Redis under this server's key prefix. Unwraps the local-counter fallback.
 */
async function stateValues(server: TestServer): Promise<string[]> {
  let state: any = server.runtime.ctx.state;
  if (state instanceof LocalCounterFallback) state = (state as any).shared;
  const now = server.runtime.ctx.now();
  const out: string[] = [];
  if (state instanceof MemoryState) {
    for (const [key, entry] of (state as any).entries as Map<string, { value: string; expiresAt: number }>) {
      if (entry.value !== '' && !isCounter(key) && entry.expiresAt > now) out.push(`${key}=${entry.value}`);
    }
  } else if (state instanceof PostgresState) {
    const rows = await sql<{ key: string; value: string }>`select key, value from shared_state where value <> '' and expires_at > ${now}`.execute(server.runtime.database.db);
    for (const row of rows.rows) if (!isCounter(row.key)) out.push(`${row.key}=${row.value}`);
  } else if (state instanceof RedisState) {
    const redis = (state as any).redis as Redis;
    const prefix = (state as any).prefix as string;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const full of keys) {
        const key = full.slice(prefix.length);
        if (isCounter(key)) continue;
        const value = await redis.get(full).catch(() => null);
        if (value !== null) out.push(`${key}=${value}`);
      }
    } while (cursor !== '0');
  } else {
    throw new Error(`snapshot: unknown shared state ${state?.constructor?.name}`);
  }
  return out.sort();
}

export interface Snapshot {
  digest: string;
  /** Rows per table, to say what changed. */
  counts: Record<string, number>;
  rows: Record<string, string>;
  /** The shared state's values, `key=value`, sorted. */
  state: string[];
  /** Audit events by type (the table itself is left out of the digest). */
  audit: Record<string, number>;
}

export async function snapshot(server: TestServer): Promise<Snapshot> {
  // Work a request left for after its answer (e-mails, their tokens) belongs to that request.
  await server.runtime.ctx.background.drain();
  const db = server.runtime.database.db;
  const counts: Record<string, number> = {};
  const rows: Record<string, string> = {};
  const hash = createHash('sha256');
  for (const name of await tables(server)) {
    const result = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(db);
    const skipped = SKIPPED_COLUMNS[name] ?? [];
    const lines = result.rows.map((row) => JSON.stringify(skipped.length ? Object.fromEntries(Object.entries(row).filter(([k]) => !skipped.includes(k))) : row, (_k, v) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('hex') : v))).sort();
    counts[name] = lines.length;
    rows[name] = createHash('sha256').update(lines.join('\n')).digest('hex');
    hash.update(`${name}\n${lines.join('\n')}\n`);
  }
  const state = await stateValues(server);
  rows['(shared state)'] = createHash('sha256').update(state.join('\n')).digest('hex');
  counts['(shared state)'] = state.length;
  hash.update(state.join('\n'));
  const audit: Record<string, number> = {};
  const events = await sql<{ type: string; n: number | string }>`select type, count(*) as n from audit_events group by type`.execute(db);
  for (const row of events.rows) audit[row.type] = Number(row.n);
  return { digest: hash.digest('hex'), counts, rows, state, audit };
}

/** Names the database tables (not the shared state) whose content differs between two snapshots. */
export function changedDatabaseTables(before: Snapshot, after: Snapshot): string[] {
  return changedTables(before, after).filter((name) => name !== '(shared state)');
}

/** Shared-state values that are new or different in `after` (entries taken or expired are not). */
export function addedState(before: Snapshot, after: Snapshot): string[] {
  const known = new Set(before.state);
  return after.state.filter((entry) => !known.has(entry));
}

/** Audit event types recorded between two snapshots. */
export function addedAuditTypes(before: Snapshot, after: Snapshot): string[] {
  return Object.keys(after.audit).filter((type) => after.audit[type]! > (before.audit[type] ?? 0)).sort();
}

/** Names the tables whose content differs between two snapshots. */
export function changedTables(before: Snapshot, after: Snapshot): string[] {
  return Object.keys({ ...before.rows, ...after.rows }).filter((name) => before.rows[name] !== after.rows[name]);
}
