// Hot-path queries as fixed SQL text: Kysely builds and compiles a query object on every call (about 10 µs,
// two thirds of a primary-key lookup on SQLite); a fixed statement skips that and, on SQLite, reuses the
// prepared statement cached in connect.ts. Written once with `?` placeholders, numbered for PostgreSQL.
import type SQLite from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { CompiledQuery, PostgresAdapter, type Kysely, type QueryResult } from 'kysely';
import type pg from 'pg';

/** A fixed statement's PostgreSQL form: `$n` placeholders, and the name it is prepared under (see below). */
interface PostgresStatement {
  text: string;
  name: string;
}

const numbered = new Map<string, PostgresStatement>();

function forPostgres(text: string): PostgresStatement {
  let statement = numbered.get(text);
  if (statement === undefined) {
    let i = 0;
    const sql = text.replace(/\?/g, () => `$${++i}`);
    statement = { text: sql, name: statementName(sql) };
    numbered.set(text, statement);
  }
  return statement;
}

/** A prepared statement's name, from its text: the same on every connection and every instance. */
export function statementName(text: string): string {
  return `gatehouse_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
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

const STAR = /\bselect\s+\*/i;

// The pool behind a pool-level PostgreSQL handle (connect.ts); a transaction's handle is not registered.
const postgresPools = new WeakMap<Kysely<any>, pg.Pool>();

export function registerPostgres(db: Kysely<any>, pool: pg.Pool): void {
  postgresPools.set(db, pool);
}

/**
 * Runs a fixed statement on the pool as a named prepared statement: PostgreSQL parses and plans it once per
 * connection, then only binds and executes it, where an unnamed statement (what Kysely sends) is parsed and
 * planned on every call. That planning was most of the server's time for the rotation's one statement (about
 * 1 ms against 0.2 ms a round trip, measured on this machine) and about half of it for a join by key. Undefined
 * when `db` is not a pool-level PostgreSQL handle (a transaction's statements go through Kysely, unnamed).
 * Behind PgBouncer in transaction mode, named statements need PgBouncer 1.21 or later with
 * max_prepared_statements set.
 */
export function preparedOnPool<Row>(db: Kysely<any>, statement: PostgresStatement, parameters: readonly unknown[]): Promise<QueryResult<Row>> | undefined {
  const pool = postgresPools.get(db);
  // `select *` is never prepared: PostgreSQL refuses a prepared statement whose result columns a later migration
  // changed ("cached plan must not change result type"), so hot statements name their columns.
  if (!pool || STAR.test(statement.text)) return undefined;
  return pool.query({ name: statement.name, text: statement.text, values: [...parameters] }).then((result) => ({
    // What Kysely's PostgreSQL driver returns for the same statement.
    rows: (result.rows ?? []) as Row[],
    numAffectedRows: ['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(result.command) && result.rowCount !== null ? BigInt(result.rowCount) : undefined,
  }));
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
  if (!isPostgres(db)) return db.executeQuery(CompiledQuery.raw(text, [...parameters]) as CompiledQuery<Row>);
  const statement = forPostgres(text);
  return preparedOnPool<Row>(db, statement, parameters) ?? db.executeQuery(CompiledQuery.raw(statement.text, [...parameters]) as CompiledQuery<Row>);
}

/** Rows changed by an insert, update or delete. */
export function changedRows(result: QueryResult<unknown>): number {
  return Number(result.numAffectedRows ?? 0n);
}
