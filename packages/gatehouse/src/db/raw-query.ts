// Hot-path queries as fixed SQL text: Kysely builds and compiles a query object on every call (about 10 µs,
// two thirds of a primary-key lookup on SQLite); a fixed statement skips that and, on SQLite, reuses the
// prepared statement cached in connect.ts. Written once with `?` placeholders, numbered for PostgreSQL.
import type SQLite from 'better-sqlite3';
import { CompiledQuery, PostgresAdapter, type Kysely, type QueryResult } from 'kysely';

const numbered = new Map<string, string>();

function forPostgres(text: string): string {
  let sql = numbered.get(text);
  if (sql === undefined) {
    let i = 0;
    sql = text.replace(/\?/g, () => `$${++i}`);
    numbered.set(text, sql);
  }
  return sql;
}

/** The SQLite connection behind a Kysely handle: its cached `prepare` and the raw handle (connect.ts). */
export interface SqliteConnection {
  prepare(sql: string): SQLite.Statement;
  readonly raw: SQLite.Database;
}

// Only the pool-level handle is registered: a transaction's Kysely object is another instance, so a store bound
// to a transaction never takes the direct path below and its statements stay inside that transaction.
const sqliteHandles = new WeakMap<Kysely<any>, SqliteConnection>();

export function registerSqlite(db: Kysely<any>, connection: SqliteConnection): void {
  sqliteHandles.set(db, connection);
}

/**
 * The SQLite connection of `db` when a statement may run on it directly, now: `db` is the pool-level handle
 * (not a transaction's) and no transaction is open on the connection. Kysely runs SQLite's one connection behind
 * a lock that a transaction holds from BEGIN to COMMIT across its awaits; while one is open, the connection
 * would run our statement inside it, so the caller must go through Kysely and wait for the lock. Outside one,
 * a synchronous statement cannot interleave with anything (better-sqlite3 is synchronous, JavaScript runs one
 * thing at a time): it runs as if it had taken the lock. Undefined otherwise, PostgreSQL included.
 */
export function idleSqlite(db: Kysely<any>): SqliteConnection | undefined {
  const connection = sqliteHandles.get(db);
  return connection && !connection.raw.inTransaction ? connection : undefined;
}

export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** What Kysely's SQLite driver returns for one statement, run directly on the connection. */
function runOnSqlite<Row>(connection: SqliteConnection, text: string, parameters: readonly unknown[]): QueryResult<Row> {
  const statement = connection.prepare(text);
  if (statement.reader) return { rows: statement.all(parameters) as Row[] };
  const { changes, lastInsertRowid } = statement.run(parameters);
  return { rows: [], numAffectedRows: BigInt(changes), insertId: lastInsertRowid === undefined || lastInsertRowid === null ? undefined : BigInt(lastInsertRowid) };
}

export function rawQuery<Row>(db: Kysely<any>, text: string, parameters: readonly unknown[]): Promise<QueryResult<Row>> {
  // SQLite outside a transaction: the statement directly, without Kysely's lock and its promises (about a
  // third of a primary-key read's time).
  const sqlite = idleSqlite(db);
  if (sqlite) {
    try {
      return Promise.resolve(runOnSqlite<Row>(sqlite, text, parameters));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  const sql = isPostgres(db) ? forPostgres(text) : text;
  return db.executeQuery(CompiledQuery.raw(sql, [...parameters]) as CompiledQuery<Row>);
}

/** Rows changed by an insert, update or delete. */
export function changedRows(result: QueryResult<unknown>): number {
  return Number(result.numAffectedRows ?? 0n);
}
