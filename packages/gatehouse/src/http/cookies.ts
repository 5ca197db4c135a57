import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply } from 'fastify';
import type { Config } from '../config.ts';

export const REFRESH_COOKIE = 'gh_refresh';
export const SESSION_COOKIE = 'gh_session';
export const CSRF_COOKIE = 'gh_csrf';

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
  reply.setCookie(CSRF_COOKIE, nonce, { ...base(config), sameSite: 'lax', path: '/' });
}

export function clearAuthCookies(reply: FastifyReply, config: Config): void {
  reply.clearCookie(REFRESH_COOKIE, { ...base(config), sameSite: 'strict', path: '/auth' });
  reply.clearCookie(SESSION_COOKIE, { ...base(config), sameSite: 'lax', path: '/' });
}
