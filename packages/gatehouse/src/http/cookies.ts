import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { randomToken } from '../crypto/random.ts';
import { DEVICE_COOKIE_MAX_AGE_S } from '../sessions/device-cookie.ts';

export const REFRESH_COOKIE = 'gh_refresh';
export const SESSION_COOKIE = 'gh_session';
export const CSRF_COOKIE = 'gh_csrf';
export const DEVICE_COOKIE = 'gh_device';

/**
 * Over https the CSRF nonce cookie is `__Host-gh_csrf`: browsers accept a `__Host-` cookie only from this very
 * host (Secure, Path=/, no Domain), so a sibling subdomain cannot plant a nonce of its own and pair it with a
 * token it fetched for that nonce (cookie tossing). Plain http (development) keeps `gh_csrf`.
 */
export function csrfCookieName(config: Config): string {
  return config.secureCookies ? `__Host-${CSRF_COOKIE}` : CSRF_COOKIE;
}

/**
 * The session cookie gets the same prefix over https, for the same reason: a sibling subdomain must not be
 * able to plant a session of its own (signing the victim into the attacker's account) or shadow ours.
 */
export function sessionCookieName(config: Config): string {
  return config.secureCookies ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE;
}

/**
 * The device cookie (src/sessions/device-cookie.ts) is `__Host-gh_device` over https too: a sibling subdomain
 * must not be able to plant or shadow it.
 */
export function deviceCookieName(config: Config): string {
  return config.secureCookies ? `__Host-${DEVICE_COOKIE}` : DEVICE_COOKIE;
}

function base(config: Config): CookieSerializeOptions {
  return { httpOnly: true, secure: config.secureCookies };
}

// The refresh cookie only travels to /auth (where refresh and logout live) and never cross-site.
function writeRefreshCookie(reply: FastifyReply, config: Config, token: string): void {
  reply.setCookie(REFRESH_COOKIE, token, { ...base(config), sameSite: 'strict', path: '/auth', maxAge: Math.floor(config.refreshTokenTtlMs / 1000) });
}

/**
 * At sign-in the browser also gets a new CSRF nonce, so a token obtained before (by whoever planted or read the
 * old nonce) does not carry over into the signed-in session; the client fetches a fresh one (GET /auth/csrf).
 */
function rotateCsrfNonce(reply: FastifyReply, config: Config): void {
  setCsrfCookie(reply, config, randomToken());
}

/** A sign-in in cookie mode: the refresh cookie and a new CSRF nonce. */
export function setRefreshCookie(reply: FastifyReply, config: Config, token: string): void {
  writeRefreshCookie(reply, config, token);
  rotateCsrfNonce(reply, config);
}

/** A refresh: the rotated refresh token replaces the old one; the person is the same, so the CSRF nonce stays. */
export function renewRefreshCookie(reply: FastifyReply, config: Config, token: string): void {
  writeRefreshCookie(reply, config, token);
}

// Lax, so that following a link to the account pages keeps the user signed in. Set only at sign-in.
export function setSessionCookie(reply: FastifyReply, config: Config, token: string): void {
  reply.setCookie(sessionCookieName(config), token, { ...base(config), sameSite: 'lax', path: '/', maxAge: Math.floor(config.sessionTtlMs / 1000) });
  rotateCsrfNonce(reply, config);
}

export function setCsrfCookie(reply: FastifyReply, config: Config, nonce: string): void {
  reply.setCookie(csrfCookieName(config), nonce, { ...base(config), sameSite: 'lax', path: '/' });
}

/**
 * After a finished sign-in: the device cookie that exempts this browser from an account lockout others cause.
 * HttpOnly, SameSite=Lax (so a sign-in page reached by a link still sends it), Path=/, one year. Logout keeps it:
 * it signs nobody in, it only says "this browser signed in to this account before".
 */
export function setDeviceCookie(reply: FastifyReply, config: Config, value: string): void {
  reply.setCookie(deviceCookieName(config), value, { ...base(config), sameSite: 'lax', path: '/', maxAge: DEVICE_COOKIE_MAX_AGE_S });
}

/** The device cookie the request carries (unchecked: the throttle verifies it against the e-mail). */
export function deviceCookieOf(request: FastifyRequest, config: Config): string | undefined {
  return request.cookies[deviceCookieName(config)];
}

export function clearAuthCookies(reply: FastifyReply, config: Config): void {
  reply.clearCookie(REFRESH_COOKIE, { ...base(config), sameSite: 'strict', path: '/auth' });
  reply.clearCookie(sessionCookieName(config), { ...base(config), sameSite: 'lax', path: '/' });
}
