import type { User } from '../users/store.ts';
import { deviceOf } from './device.ts';

export type LoginMode = 'token' | 'cookie' | 'session';
export const LOGIN_MODES: readonly LoginMode[] = ['token', 'cookie', 'session'];

export interface Session {
  id: string;
  userId: string;
  mode: LoginMode;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  revokedAt: number | null;
  revokeReason: string | null;
  userAgent: string | null;
  ip: string | null;
  /** How the user proved who they are, as RFC 8176 method names (`pwd`, `fed`, `otp`, `mfa`, …). */
  amr: string[];
  /** When the user last proved it (sign-in or re-authentication), epoch ms: what step-up checks. */
  authTime: number;
}

export interface RefreshToken {
  hash: string;
  sessionId: string;
  parentHash: string | null;
  createdAt: number;
  usedAt: number | null;
  expiresAt: number;
}

export interface SessionStore {
  /** Creates the session and, for token and cookie modes, its first refresh token, atomically. */
  create(session: Session, secret: { tokenHash: string | null; refresh: RefreshToken | null }): Promise<void>;
  find(id: string): Promise<Session | null>;
  findByTokenHash(tokenHash: string): Promise<Session | null>;
  /** The same, with the session's user (null when the user is gone) in the same read. */
  findByTokenHashWithUser(tokenHash: string): Promise<{ session: Session; user: User | null } | null>;
  touch(id: string, now: number, expiresAt?: number): Promise<void>;
  listLive(userId: string, now: number): Promise<Session[]>;
  /** Every session row of the user, ended ones too, newest first: the account export. */
  listByUser(userId: string): Promise<Session[]>;
  /** A fresh proof of identity on a live session (step-up): its auth time, and the methods proven so far. */
  reauthenticate(id: string, authTime: number, amr: string[]): Promise<boolean>;
  /** Returns whether a live session was revoked by this call. */
  revoke(id: string, reason: string, now: number): Promise<boolean>;
  /** Revokes every live session of the user (but `exceptId`) and returns their ids. */
  revokeAllOfUser(userId: string, reason: string, now: number, exceptId?: string): Promise<string[]>;
  /** Sessions revoked at or after `since`: reloaded into the revocation set at start. */
  listRevokedSince(since: number): Promise<string[]>;

  findRefreshToken(hash: string): Promise<RefreshToken | null>;
  /** A refresh token with its session and that session's user, in one read: the first step of a rotation. */
  findRefreshTokenWithSession(hash: string): Promise<{ token: RefreshToken; session: Session; user: User | null } | null>;
  /** Marks the token used if nobody has; true for exactly one of any number of concurrent callers. */
  claimRefreshToken(hash: string, now: number): Promise<boolean>;
  /** Idempotent: inserting the same successor twice keeps one row. */
  insertRefreshToken(token: RefreshToken): Promise<void>;
  /**
   * A rotation's writes and the read they depend on, as one atomic step (one statement on PostgreSQL, one
   * synchronous transaction on SQLite): reads the token with its session and user (as
   * `findRefreshTokenWithSession`) and, when the token is unused, unexpired at `now` and its session neither
   * revoked nor expired, claims it (as `claimRefreshToken`), inserts `successor` as its child (hash, the same
   * session, created at `now`, unused) and moves the session's last use to `now` and its expiry to
   * `successor.expiresAt`. `rotated` is true for exactly one of any number of concurrent callers with one token;
   * the token, session and user returned are as read before the claim. Null when the token is unknown.
   */
  rotate(hash: string, successor: { hash: string; expiresAt: number }, now: number): Promise<{ token: RefreshToken; session: Session; user: User | null; rotated: boolean } | null>;
}

export interface PublicSession {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  userAgent: string | null;
  /** The user agent, readable: "Chrome on macOS" (sessions/device.ts). */
  device: string;
  ip: string | null;
  current: boolean;
}

export function toPublicSession(session: Session, currentId: string | null): PublicSession {
  return {
    id: session.id,
    createdAt: new Date(session.createdAt).toISOString(),
    lastUsedAt: new Date(session.lastUsedAt).toISOString(),
    expiresAt: new Date(session.expiresAt).toISOString(),
    userAgent: session.userAgent,
    device: deviceOf(session.userAgent),
    ip: session.ip,
    current: session.id === currentId,
  };
}
