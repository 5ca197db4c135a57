// Hot-path queries as fixed SQL text: Kysely builds and compiles a query object on every call (about 10 µs,
// two thirds of a primary-key lookup on SQLite); a fixed statement skips that and, on SQLite, reuses the
// prepared statement cached in connect.ts. Written once with `?` placeholders, numbered for PostgreSQL.
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

export function rawQuery<Row>(db: Kysely<any>, text: string, parameters: readonly unknown[]): Promise<QueryResult<Row>> {
  const sql = db.getExecutor().adapter instanceof PostgresAdapter ? forPostgres(text) : text;
  return db.executeQuery(CompiledQuery.raw(sql, [...parameters]) as CompiledQuery<Row>);
}

/** Rows changed by an insert, update or delete. */
export function changedRows(result: QueryResult<unknown>): number {
  return Number(result.numAffectedRows ?? 0n);
}
