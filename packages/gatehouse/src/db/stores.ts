// Every SQL store bound to one Kysely handle (the pool, or one transaction), and the unit of work over them.
import type { Stores, Transaction } from '../context.ts';
import { SqlApiKeyStore } from './api-key-store.ts';
import { SqlAuditStore } from './audit-store.ts';
import { SqlFactorStore } from './factor-store.ts';
import { SqlIdentityStore } from './identity-store.ts';
import { SqlOneTimeTokenStore } from './one-time-token-store.ts';
import type { MailSealer } from '../mail/seal.ts';
import { SqlMailQueueStore } from './mail-queue-store.ts';
import type { Db, Dialect } from './schema.ts';
import { SqlSessionStore } from './session-store.ts';
import { SqlUserStore } from './user-store.ts';

/** What the mail queue's store needs besides a connection. */
export interface MailQueueOptions {
  dialect: Dialect;
  sealer: MailSealer;
}

export function sqlStores(db: Db, mail: MailQueueOptions): Stores {
  return {
    mail: new SqlMailQueueStore(db, mail.dialect, mail.sealer),
    users: new SqlUserStore(db),
    sessions: new SqlSessionStore(db),
    oneTimeTokens: new SqlOneTimeTokenStore(db),
    identities: new SqlIdentityStore(db),
    apiKeys: new SqlApiKeyStore(db),
    audit: new SqlAuditStore(db),
    factors: new SqlFactorStore(db),
  };
}

/** One database transaction over every store. Not re-entrant: a `tx` is passed down, never opened twice. */
export function sqlTransaction(db: Db, mail: MailQueueOptions): Transaction {
  return (work) => db.transaction().execute((trx) => work(sqlStores(trx, mail)));
}
