import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely';
import { registerPostgres, registerSqlite } from './raw-query.ts';
import type { Database, Db, Dialect } from './schema.ts';

export interface DbHandle {
  db: Db;
  dialect: Dialect;
  close(): Promise<void>;
}

const INT8_OID = 20;

export function openDatabase(options: { databaseUrl: string | null; dataDir: string; poolSize?: number }): DbHandle {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      // Our bigint columns are epoch milliseconds, well inside Number's exact range.
      types: { getTypeParser: (oid: number, format?: any) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) } as any,
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on('error', () => {});
    // Nor one checked out of the pool: between the queries of a transaction it has no listener of the pool's, so
    // a server-side disconnect (57P01 when PostgreSQL restarts) was an uncaught 'error' that killed the process.
    // Its next query fails (a 503) and the pool discards it on release.
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    // The hot paths' fixed statements run on the pool as named prepared statements (raw-query.ts).
    registerPostgres(db, pool);
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }
  mkdirSync(options.dataDir, { recursive: true });
  const file = path.join(options.dataDir, 'gatehouse.db');
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  // The CLI (keys rotate, user create) may write while the server runs.
  sqlite.pragma('busy_timeout = 5000');
  const cached = withStatementCache(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cached }) });
  // The hot paths' fixed statements may run on the connection directly when no transaction is open (raw-query.ts).
  registerSqlite(db, { prepare: (sql) => cached.prepare(sql) as unknown as SQLite.Statement, raw: sqlite });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

/**
 * Kysely prepares every query anew; preparing was ~7% of a `GET /auth/me` profile. Safe to reuse statements:
 * Kysely runs one SQLite connection behind a lock and nothing here streams results.
 */
function withStatementCache(sqlite: SQLite.Database, max = 256): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size >= max) statements.delete(statements.keys().next().value!);
        statement = sqlite.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    close: () => sqlite.close(),
  } as SqliteDatabase;
}

/** Unique-constraint violations, which stores turn into domain answers (email taken). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
