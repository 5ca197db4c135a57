// Sessions: start one per login, end one, end all, and look one up from its cookie.
import { recordEvent } from '../audit/service.ts';
import type { ClientInfo, Context } from '../context.ts';
import { randomToken, sha256, uuidv7 } from '../crypto/random.ts';
import { AppError } from '../errors.ts';
import type { User } from '../users/store.ts';
import { markSessionsRevoked } from './revocation.ts';
import type { LoginMode, RefreshToken, Session } from './store.ts';

export interface IssuedSession {
  session: Session;
  /** token and cookie modes */
  accessToken?: string;
  refreshToken?: string;
  expiresIn?: number;
  /** session mode: the cookie value */
  sessionToken?: string;
}

export const REFRESH_PREFIX = 'ghr_';
export const SESSION_PREFIX = 'ghs_';

// Session-mode cookies slide; writing last_used_at at most this often keeps reads cheap.
export const TOUCH_INTERVAL_MS = 60_000;

export interface PreparedSession {
  session: Session;
  /** What SessionStore.create stores beside the session row. */
  secret: { tokenHash: string | null; refresh: RefreshToken | null };
  /** Signs the access token, once the session is stored. */
  issue(): Promise<IssuedSession>;
}

/** A new session and its secret, not yet stored: the sign-in pipeline stores them in its transaction. */
export function prepareSession(ctx: Context, user: User, mode: LoginMode, client: ClientInfo, amr: string[]): PreparedSession {
  const now = ctx.now();
  const ttl = mode === 'session' ? ctx.config.sessionTtlMs : ctx.config.refreshTokenTtlMs;
  const session: Session = {
    id: uuidv7(now),
    userId: user.id,
    mode,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + ttl,
    revokedAt: null,
    revokeReason: null,
    userAgent: client.userAgent?.slice(0, 512) ?? null,
    ip: client.ip,
    amr,
    authTime: now,
  };
  if (mode === 'session') {
    const sessionToken = randomToken(SESSION_PREFIX);
    return { session, secret: { tokenHash: sha256(sessionToken), refresh: null }, issue: async () => ({ session, sessionToken }) };
  }
  const refreshToken = randomToken(REFRESH_PREFIX);
  return {
    session,
    secret: { tokenHash: null, refresh: { hash: sha256(refreshToken), sessionId: session.id, parentHash: null, createdAt: now, usedAt: null, expiresAt: session.expiresAt } },
    async issue() {
      const access = await ctx.tokens.sign({ sub: user.id, sid: session.id, role: user.role, amr }, now);
      return { session, accessToken: access.token, expiresIn: access.expiresIn, refreshToken };
    },
  };
}

/** Ends one session: its refresh tokens stop working and its access tokens are refused at once. */
export async function endSession(ctx: Context, sessionId: string, reason: string): Promise<void> {
  await ctx.sessions.revoke(sessionId, reason, ctx.now());
  await markSessionsRevoked(ctx, [sessionId]);
}

export async function endUserSessions(ctx: Context, userId: string, reason: string, exceptSessionId?: string): Promise<number> {
  const ids = await ctx.sessions.revokeAllOfUser(userId, reason, ctx.now(), exceptSessionId);
  await markSessionsRevoked(ctx, ids);
  return ids.length;
}

export async function logout(ctx: Context, userId: string, sessionId: string, client: ClientInfo): Promise<void> {
  await endSession(ctx, sessionId, 'logout');
  await recordEvent(ctx, 'logout', { userId, sessionId, client });
}

export async function logoutEverywhere(ctx: Context, userId: string, sessionId: string, client: ClientInfo): Promise<void> {
  const count = await endUserSessions(ctx, userId, 'logout_all');
  await recordEvent(ctx, 'logout_all', { userId, sessionId, client, detail: { sessions: count } });
}

export async function listSessions(ctx: Context, userId: string): Promise<Session[]> {
  return ctx.sessions.listLive(userId, ctx.now());
}

/** Ends one of the caller's own sessions; another user's session id is not_found, as an unknown id is. */
export async function endOwnSession(ctx: Context, userId: string, sessionId: string, client: ClientInfo): Promise<void> {
  const session = await ctx.sessions.find(sessionId);
  if (!session || session.userId !== userId || session.revokedAt !== null || session.expiresAt <= ctx.now()) {
    throw new AppError('not_found', { message: 'Session not found' });
  }
  await endSession(ctx, sessionId, 'deleted');
  await recordEvent(ctx, 'session_revoked', { userId, sessionId, client });
}

/** The session a session-mode cookie belongs to, or the reason it does not authenticate. */
export async function resolveSessionCookie(ctx: Context, cookie: string): Promise<Session> {
  if (!cookie.startsWith(SESSION_PREFIX) || cookie.length > 100) throw new AppError('authentication_required');
  return checkSession(ctx, await ctx.sessions.findByTokenHash(sha256(cookie)));
}

/** The same, with the session's user read in the same query (null when the user is gone): the auth guard's path. */
export async function resolveSessionCookieWithUser(ctx: Context, cookie: string): Promise<{ session: Session; user: User | null }> {
  if (!cookie.startsWith(SESSION_PREFIX) || cookie.length > 100) throw new AppError('authentication_required');
  const found = await ctx.sessions.findByTokenHashWithUser(sha256(cookie));
  return { session: await checkSession(ctx, found?.session ?? null), user: found?.user ?? null };
}

async function checkSession(ctx: Context, session: Session | null): Promise<Session> {
  if (!session) throw new AppError('authentication_required');
  if (session.revokedAt !== null) throw new AppError('token_revoked', { message: 'The session has ended' });
  const now = ctx.now();
  if (session.expiresAt <= now) throw new AppError('token_expired', { message: 'The session has expired' });
  if (now - session.lastUsedAt >= TOUCH_INTERVAL_MS) {
    await ctx.sessions.touch(session.id, now, now + ctx.config.sessionTtlMs);
  }
  return session;
}
