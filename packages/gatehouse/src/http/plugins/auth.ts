// The auth guard: a Bearer access token or the session cookie, revocation checked on every request.
import type { FastifyRequest } from 'fastify';
import type { Context } from '../../context.ts';
import { looksLikeApiKey, resolveApiKey } from '../../api-keys/service.ts';
import { AppError } from '../../errors.ts';
import { isSessionRevoked } from '../../sessions/revocation.ts';
import { resolveSessionCookieWithUser } from '../../sessions/service.ts';
import { hasSecondFactor } from '../../factors/service.ts';
import { mayAct, mustEnrolFirst } from '../../sign-in/access-policy.ts';
import { assertRecentSignIn } from '../../sign-in/step-up.ts';
import type { User } from '../../users/store.ts';
import { sessionCookieName } from '../cookies.ts';
import type { Auth } from '../types.ts';
import { SAFE_METHODS, type Csrf } from './csrf.ts';

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

export function createGuards(ctx: Context, csrf: Csrf) {
  const sessionCookie = sessionCookieName(ctx.config);
  // The user row the session cookie's check read (its one joined read), kept for the request: a route that
  // answers with the caller's own user (GET /auth/me) need not read the same row again.
  const usersRead = new WeakMap<FastifyRequest, User>();

  async function authenticate(request: FastifyRequest): Promise<void> {
    const auth = await identify(request);
    request.auth = auth;
    // MFA_REQUIRED_ROLES: until such a user has a second factor, only the routes that lead to one answer.
    if (!request.routeOptions.config.allowWithoutMfa && (await mustEnrolFirst(ctx.config, auth, () => hasSecondFactor(ctx, auth.userId)))) {
      throw new AppError('mfa_enrollment_required', { message: 'Your role needs a second factor: add one (POST /auth/mfa/totp, or a passkey: POST /auth/passkeys/register/options) before anything else' });
    }
  }

  async function identify(request: FastifyRequest): Promise<Auth> {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = BEARER.exec(header);
      if (!match?.[1]) throw new AppError('invalid_token', { message: 'Authorization must be "Bearer <token>"' });
      if (looksLikeApiKey(match[1])) return identifyApiKey(match[1]);
      const claims = await ctx.tokens.verify(match[1], ctx.now());
      if (await isSessionRevoked(ctx, claims.sid)) throw new AppError('token_revoked');
      return { userId: claims.sub, sessionId: claims.sid, role: claims.role, via: 'bearer', apiKey: null, amr: claims.amr };
    }
    const apiKeyHeader = request.headers['x-api-key'];
    if (typeof apiKeyHeader === 'string') return identifyApiKey(apiKeyHeader);
    const cookie = request.cookies[sessionCookie];
    if (cookie) {
      // The session and its user in one read.
      const { session, user } = await resolveSessionCookieWithUser(ctx, cookie);
      // A cookie rides along with cross-site requests; a Bearer header cannot, so only cookies need CSRF.
      if (!SAFE_METHODS.has(request.method)) csrf.verify(request);
      if (!mayAct(ctx.config, user)) throw new AppError('token_revoked', { message: 'The session has ended' });
      usersRead.set(request, user);
      return { userId: user.id, sessionId: session.id, role: user.role, via: 'session', apiKey: null, amr: session.amr };
    }
    throw new AppError('authentication_required');
  }

  async function identifyApiKey(presented: string): Promise<Auth> {
    const resolved = await resolveApiKey(ctx, presented);
    // Unknown, revoked, expired and disabled-owner keys get the same answer.
    if (!resolved) throw new AppError('invalid_token', { message: 'The API key is invalid' });
    return { userId: resolved.user.id, sessionId: null, role: resolved.user.role, via: 'api_key', apiKey: { id: resolved.key.id, scopes: resolved.key.scopes }, amr: [] };
  }

  /** For what only a signed-in person may do (sessions, passwords, API keys): an API key is refused. */
  async function authenticateSession(request: FastifyRequest): Promise<void> {
    await authenticate(request);
    if (request.auth!.sessionId === null) throw new AppError('forbidden', { message: 'An API key cannot be used for this' });
  }

  function requireRole(...roles: string[]) {
    return async (request: FastifyRequest): Promise<void> => {
      await authenticate(request);
      if (!roles.includes(request.auth!.role)) throw new AppError('forbidden');
    };
  }

  /** Step-up: a signed-in person whose session proved who it is within REAUTH_MAX_AGE. */
  async function recentSignIn(request: FastifyRequest): Promise<void> {
    await authenticateSession(request);
    await assertRecentSignIn(ctx, request.auth!.sessionId!);
  }

  /**
   * An admin changing someone else: step-up for a person; an admin's API key (made under step-up, and a
   * credential of its own) passes as it is.
   */
  function requireRoleWithRecentSignIn(...roles: string[]) {
    const role = requireRole(...roles);
    return async (request: FastifyRequest): Promise<void> => {
      await role(request);
      if (request.auth!.sessionId !== null) await assertRecentSignIn(ctx, request.auth!.sessionId);
    };
  }

  /** The caller's user as this request's credential check read it, if the check read it (the session cookie). */
  function userReadByGuard(request: FastifyRequest): User | undefined {
    return usersRead.get(request);
  }

  return { authenticate, authenticateSession, requireRole, recentSignIn, requireRoleWithRecentSignIn, userReadByGuard };
}

export type Guards = ReturnType<typeof createGuards>;
