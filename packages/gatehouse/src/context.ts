// What the domain services receive: stores, shared state, crypto and the clock. Never Fastify or SQL.
import type { Config } from './config.ts';
import type { ApiKeyStore } from './api-keys/store.ts';
import type { AuditStore } from './audit/store.ts';
import type { BackgroundTasks } from './background.ts';
import type { FactorStore } from './factors/store.ts';
import type { KeyRing } from './crypto/keys.ts';
import type { PasswordHasher } from './crypto/passwords.ts';
import type { RevocationFeed } from './sessions/revocation-feed.ts';
import type { MailOutbox, Mailer } from './mail/transport.ts';
import type { IdentityStore } from './methods/social/store.ts';
import type { Metrics } from './metrics.ts';
import type { OneTimeTokenStore } from './recovery/store.ts';
import type { AccessTokens } from './crypto/tokens.ts';
import type { SessionStore } from './sessions/store.ts';
import type { SharedState } from './state/state.ts';
import type { UserStore } from './users/store.ts';

/** Every store, bound to one database connection or to one transaction. */
export interface Stores {
  users: UserStore;
  sessions: SessionStore;
  oneTimeTokens: OneTimeTokenStore;
  identities: IdentityStore;
  apiKeys: ApiKeyStore;
  audit: AuditStore;
  factors: FactorStore;
  /** The mail queue: a message queued through a transaction's `tx.mail` goes out only if it commits. */
  mail: MailOutbox;
}

/**
 * The unit of work: `work` gets every store bound to one transaction, which commits when it resolves and rolls
 * back when it throws. A change and its audit event are written through the same `tx`.
 */
export type Transaction = <T>(work: (tx: Stores) => Promise<T>) => Promise<T>;

export interface Context extends Stores {
  config: Config;
  transaction: Transaction;
  state: SharedState;
  /** Pushes revocations to verifying services (Redis pub/sub or PostgreSQL NOTIFY); null on SQLite alone. */
  revocationFeed: RevocationFeed | null;
  keyRing: KeyRing;
  /** Every password hash and check goes through it: bounded concurrency and queue. */
  passwords: PasswordHasher;
  tokens: AccessTokens;
  now: () => number;
  log: Logger;
  mailer: Mailer;
  background: BackgroundTasks;
  metrics: Metrics;
}

/** The part of pino the domain uses. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Who made a request, for the session row and the audit trail. */
export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}
