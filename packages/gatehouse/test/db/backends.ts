// Runs one store contract suite on SQLite and on a real PostgreSQL (house rule 6). Each file gets a fresh
// database per backend; PostgreSQL is skipped with a message when unreachable, and fails the file under CI.
import { MailSealer } from '../../src/mail/seal.ts';
import { after, before, describe } from 'node:test';
import { sql } from 'kysely';
import type { Stores, Transaction } from '../../src/context.ts';
import { openDatabase, type DbHandle } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrations.ts';
import type { Database, Db, Dialect } from '../../src/db/schema.ts';
import { sqlStores, sqlTransaction } from '../../src/db/stores.ts';
import { createTestDatabase, skipUnlessPostgres, tempDataDir } from '../helpers/backends.ts';

export interface Backend {
  dialect: Dialect;
  db: Db;
  /** Every store bound to the pool (outside any transaction). */
  stores: Stores;
  transaction: Transaction;
  /** Seals the mail queue's messages for `stores.mail` and `transaction`. */
  sealer: MailSealer;
  /** Empties tables, for tests that count rows across the whole table. */
  truncate(...tables: (keyof Database)[]): Promise<void>;
}

interface BackendKind {
  name: string;
  skip(): Promise<false | string>;
  open(): Promise<{ handle: DbHandle; cleanup(): Promise<void> }>;
}

const KINDS: BackendKind[] = [
  {
    name: 'SQLite',
    skip: async () => false,
    async open() {
      const data = tempDataDir();
      return { handle: openDatabase({ databaseUrl: null, dataDir: data.dir }), cleanup: async () => data.remove() };
    },
  },
  {
    name: 'PostgreSQL',
    skip: skipUnlessPostgres,
    async open() {
      const database = await createTestDatabase();
      return { handle: openDatabase({ databaseUrl: database.url, dataDir: '/nonexistent', poolSize: 25 }), cleanup: database.drop };
    },
  },
];

/** `define` registers the suite's tests once per backend; `backend()` is valid inside those tests. */
export function describeEachBackend(title: string, define: (backend: () => Backend) => void): void {
  for (const kind of KINDS) {
    describe(`${title} on ${kind.name}`, async () => {
      const skip = await kind.skip();
      describe(kind.name, { skip }, () => {
        let current: Backend | undefined;
        let close: (() => Promise<void>) | undefined;
        before(async () => {
          const { handle, cleanup } = await kind.open();
          close = async () => {
            await handle.close();
            await cleanup();
          };
          await migrateToLatest(handle.db);
          const db = handle.db;
          const mail = { dialect: handle.dialect, sealer: new MailSealer('store-suite-secret-0123456789abcdef') };
          current = {
            dialect: handle.dialect,
            db,
            sealer: mail.sealer,
            stores: sqlStores(db, mail),
            transaction: sqlTransaction(db, mail),
            async truncate(...tables) {
              for (const table of tables) await sql`delete from ${sql.table(table)}`.execute(db);
            },
          };
        });
        after(async () => {
          await close?.();
        });
        define(() => {
          if (!current) throw new Error('the backend is open only inside its tests');
          return current;
        });
      });
    });
  }
}
