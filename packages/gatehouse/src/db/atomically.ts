import type { Db } from './schema.ts';

/** Runs `write` in a transaction of its own unless `db` already is one (then it is part of the caller's). */
export function atomically<T>(db: Db, write: (db: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? write(db) : db.transaction().execute(write);
}
