import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply } from 'fastify';
import type { Config } from '../config.ts';

export const REFRESH_COOKIE = 'gh_refresh';
export const SESSION_COOKIE = 'gh_session';
export const CSRF_COOKIE = 'gh_csrf';

/**
 * Over https the CSRF nonce cookie is `__Host-gh_csrf`: browsers accept a `__Host-` cookie only from this very
 * host (Secure, Path=/, no Domain), so a sibling subdomain cannot plant a nonce of its own and pair it with a
 * token it fetched for that nonce (cookie tossing). Plain http (development) keeps `gh_csrf`.
 */
export function csrfCookieName(config: Config): string {
  return config.secureCookies ? `__Host-${CSRF_COOKIE}` : CSRF_COOKIE;
}

function base(config: Config): CookieSerializeOptions {
  return { httpOnly: true, secure: config.secureCookies };
}

// The refresh cookie only travels to /auth (where refresh and logout live) and never cross-site.
export function setRefreshCookie(reply: FastifyReply, config: Config, token: string): void {
  reply.setCookie(REFRESH_COOKIE, token, { ...base(config), sameSite: 'strict', path: '/auth', maxAge: Math.floor(config.refreshTokenTtlMs / 1000) });
}

// Lax, so that following a link to the account pages keeps the user signed in.
export function setSessionCookie(reply: FastifyReply, config: Config, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, { ...base(config), sameSite: 'lax', path: '/', maxAge: Math.floor(config.sessionTtlMs / 1000) });
}

export function setCsrfCookie(reply: FastifyReply, config: Config, nonce: string): void {
  reply.setCookie(csrfCookieName(config), nonce, { ...base(config), sameSite: 'lax', path: '/' });
}

export function clearAuthCookies(reply: FastifyReply, config: Config): void {
  reply.clearCookie(REFRESH_COOKIE, { ...base(config), sameSite: 'strict', path: '/auth' });
  reply.clearCookie(SESSION_COOKIE, { ...base(config), sameSite: 'lax', path: '/' });
}
