// What the domain services receive: stores, shared state, crypto and the clock. Never Fastify or SQL.
import type { Config } from './config.ts';
import type { KeyRing } from './crypto/keys.ts';
import type { AccessTokens } from './crypto/tokens.ts';
import type { SessionStore } from './sessions/store.ts';
import type { SharedState } from './state/state.ts';
import type { UserStore } from './users/store.ts';

export interface Context {
  config: Config;
  users: UserStore;
  sessions: SessionStore;
  state: SharedState;
  keyRing: KeyRing;
  tokens: AccessTokens;
  now: () => number;
}

/** Who made a request, for the session row and the audit trail. */
export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}
