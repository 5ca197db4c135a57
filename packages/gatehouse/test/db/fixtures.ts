// Rows for the store suites, at fixed times: every test picks its own `now` instead of reading the clock.
import { randomBytes } from 'node:crypto';
import type { ApiKey } from '../../src/api-keys/store.ts';
import type { AuditEvent, AuditType } from '../../src/audit/store.ts';
import type { Stores } from '../../src/context.ts';
import { sha256, uuidv7 } from '../../src/crypto/random.ts';
import type { Identity } from '../../src/methods/social/store.ts';
import type { OneTimePurpose, OneTimeToken } from '../../src/recovery/store.ts';
import type { RefreshToken, Session } from '../../src/sessions/store.ts';
import type { User } from '../../src/users/store.ts';

export const T0 = Date.UTC(2026, 0, 1);
export const MINUTE = 60_000;
export const DAY = 86_400_000;

/** A string no other test in the same database uses. */
export function unique(label: string): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}

export function aUser(extra: Partial<User> = {}): User {
  const email = extra.email ?? `${unique('user')}@example.com`;
  return { id: uuidv7(T0), email, name: email.split('@')[0]!, role: 'user', passwordHash: null, emailVerifiedAt: null, disabledAt: null, createdAt: T0, updatedAt: T0, lastLoginAt: null, locale: null, ...extra };
}

/** Creates a user and fails the test if the store refuses it. */
export async function createUser(stores: Pick<Stores, 'users'>, extra: Partial<User> = {}): Promise<User> {
  const user = await stores.users.create(aUser(extra));
  if (!user) throw new Error('the fixture user was refused');
  return user;
}

export function aSession(userId: string, extra: Partial<Session> = {}): Session {
  return { id: uuidv7(T0), userId, mode: 'token', createdAt: T0, lastUsedAt: T0, expiresAt: T0 + DAY, revokedAt: null, revokeReason: null, userAgent: 'test-agent', ip: '192.0.2.1', amr: ['pwd'], authTime: T0, ...extra };
}

export function aRefreshToken(sessionId: string, extra: Partial<RefreshToken> = {}): RefreshToken {
  return { hash: sha256(unique('refresh')), sessionId, parentHash: null, createdAt: T0, usedAt: null, expiresAt: T0 + DAY, ...extra };
}

export function aOneTimeToken(userId: string, purpose: OneTimePurpose, extra: Partial<OneTimeToken> = {}): OneTimeToken {
  return { hash: sha256(unique('ott')), userId, purpose, createdAt: T0, expiresAt: T0 + 30 * MINUTE, usedAt: null, ...extra };
}

export function anIdentity(userId: string, extra: Partial<Identity> = {}): Identity {
  return { provider: 'github', subject: unique('sub'), userId, email: 'someone@example.com', emailVerified: true, createdAt: T0, ...extra };
}

export function anApiKey(userId: string, extra: Partial<ApiKey> = {}): ApiKey {
  return {
    id: uuidv7(T0),
    userId,
    name: 'ci',
    prefix: unique('pfx'),
    hash: sha256(unique('key')),
    scopes: ['read:users', 'write:users'],
    createdAt: T0,
    lastUsedAt: null,
    expiresAt: null,
    revokedAt: null,
    ...extra,
  };
}

export function anAuditEvent(type: AuditType, extra: Partial<AuditEvent> = {}): AuditEvent {
  const at = extra.at ?? T0;
  return { id: uuidv7(at), at, type, userId: null, sessionId: null, ip: '192.0.2.1', userAgent: 'test-agent', detail: null, ...extra };
}
