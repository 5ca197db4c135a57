// What every page handler needs from a request: who is signed in, the form's CSRF token, the flash
// message left by the previous POST, and where a sign-in may send the browser next.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../../context.ts';
import { randomToken, safeEqual, sha256 } from '../../crypto/random.ts';
import { AppError } from '../../errors.ts';
import { resolveSessionCookieWithUser } from '../../sessions/service.ts';
import { mayAct } from '../../sign-in/access-policy.ts';
import type { Session } from '../../sessions/store.ts';
import type { User } from '../../users/store.ts';
import { sessionCookieName, setCsrfCookie } from '../cookies.ts';
import type { Csrf } from '../plugins/csrf.ts';
import { isLocale, negotiate, type Locale, type Translator } from '../../i18n/index.ts';
import { CSRF_FIELD, type Flash } from './layout.ts';

export const FLASH_COOKIE = 'gh_flash';
/** The language chosen with the pages' switch, for this browser (a year). */
export const LANG_COOKIE = 'gh_lang';
const LANG_COOKIE_MAX_AGE_S = 365 * 24 * 3600;
const FLASH_KEY = 'page:flash:';
const FLASH_TTL_MS = 60_000;

/** The pages a sign-in may return to besides OAUTH_REDIRECT_ALLOWLIST: our own, so never an open redirect. */
const OWN_PAGES = new Set(['/account', '/admin', '/register/passkey/new']);
/** The OpenID provider's interaction page, where a sign-in for an application continues. */
const OIDC_INTERACTION = /^\/oauth2\/interaction\/[A-Za-z0-9_-]{1,64}$/;

/** A return target that is the OpenID provider's interaction page (which goes on to an application). */
export function isOidcInteraction(path: string): boolean {
  return OIDC_INTERACTION.test(path);
}

export interface SignedIn {
  user: User;
  session: Session;
}

/** A form field as a string; repeated, missing or non-string values (JSON bodies, arrays) are "". */
export function formField(body: unknown, name: string, max = 4096): string {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value.slice(0, max) : '';
}

export function queryField(request: FastifyRequest, name: string, max = 2048): string {
  return formField(request.query, name, max);
}

export class PageRequests {
  /** The signed-in user's language preference, noted by viewer() for locale() of the same request. */
  private readonly preferred = new WeakMap<FastifyRequest, Locale>();

  constructor(
    private readonly ctx: Context,
    private readonly csrf: Csrf,
  ) {}

  /**
   * The page's language: the switch's cookie on this browser, else the signed-in user's preference (known
   * once viewer() has run), else the best match for Accept-Language, else DEFAULT_LOCALE.
   */
  locale(request: FastifyRequest): Locale {
    const chosen = request.cookies[LANG_COOKIE];
    if (isLocale(chosen)) return chosen;
    return this.preferred.get(request) ?? negotiate(request.headers['accept-language']) ?? this.ctx.config.defaultLocale;
  }

  /** The switch: remembered on this browser, and as the user's preference (which e-mails follow) when signed in. */
  rememberLocale(reply: FastifyReply, locale: Locale): void {
    reply.setCookie(LANG_COOKIE, locale, { httpOnly: true, secure: this.ctx.config.secureCookies, sameSite: 'lax', path: '/', maxAge: LANG_COOKIE_MAX_AGE_S });
  }

  /** The signed-in person behind the session cookie, or null for anyone else (no cookie, ended, disabled). */
  async viewer(request: FastifyRequest): Promise<SignedIn | null> {
    const cookie = request.cookies[sessionCookieName(this.ctx.config)];
    if (!cookie) return null;
    try {
      const { session, user } = await resolveSessionCookieWithUser(this.ctx, cookie);
      if (!mayAct(this.ctx.config, user)) return null;
      if (user.locale) this.preferred.set(request, user.locale);
      return { user, session };
    } catch (err) {
      if (err instanceof AppError && err.status === 401) return null;
      throw err;
    }
  }

  /** The token for this browser's forms; sets the nonce cookie it is bound to when there is none yet. */
  csrfToken(request: FastifyRequest, reply: FastifyReply): string {
    const { nonce, token, isNew } = this.csrf.issue(request);
    if (isNew) setCsrfCookie(reply, this.ctx.config, nonce);
    return token;
  }

  /** The same signed double-submit check as the API's X-CSRF-Token header, with the token in a form field. */
  checkCsrf(request: FastifyRequest): void {
    const { token, isNew } = this.csrf.issue(request);
    const sent = formField(request.body, CSRF_FIELD, 200);
    if (isNew || !sent || !safeEqual(sent, token)) throw new AppError('csrf_failed', { message: 'This form has expired; reload the page and try again' });
  }

  /** Kept server-side for a minute under a random id in a cookie, so it may carry an API key shown once. */
  async setFlash(reply: FastifyReply, flash: Flash): Promise<void> {
    const id = randomToken();
    await this.ctx.state.put(FLASH_KEY + sha256(id), JSON.stringify(flash), FLASH_TTL_MS);
    reply.setCookie(FLASH_COOKIE, id, { httpOnly: true, secure: this.ctx.config.secureCookies, sameSite: 'lax', path: '/', maxAge: FLASH_TTL_MS / 1000 });
  }

  /** The flash, once: taking it deletes it. */
  async takeFlash(request: FastifyRequest, reply: FastifyReply): Promise<Flash | null> {
    const id = request.cookies[FLASH_COOKIE];
    if (!id) return null;
    reply.clearCookie(FLASH_COOKIE, { httpOnly: true, secure: this.ctx.config.secureCookies, sameSite: 'lax', path: '/' });
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
    const raw = await this.ctx.state.take(FLASH_KEY + sha256(id));
    return raw ? (JSON.parse(raw) as Flash) : null;
  }

  /** After a successful POST: 303, so that reloading the next page never posts again. */
  async redirect(reply: FastifyReply, to: string, flash?: Flash): Promise<FastifyReply> {
    if (flash) await this.setFlash(reply, flash);
    return reply.header('cache-control', 'no-store').redirect(to, 303);
  }

  /** Where a sign-in may go: our own account pages, or exactly an OAUTH_REDIRECT_ALLOWLIST entry; else /account. */
  returnTo(raw: string): string {
    if (OWN_PAGES.has(raw) || OIDC_INTERACTION.test(raw) || this.ctx.config.oauthRedirectAllowlist.includes(raw)) return raw;
    return '/account';
  }
}

/** A refusal the person can act on, shown on the form in the page's language; anything else goes to the scope's error page. */
export function refusal(err: unknown, reply: FastifyReply, t: Translator): { status: number; message: string } | null {
  if (!(err instanceof AppError) || (err.status >= 500 && err.code !== 'service_unavailable')) return null;
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
  // A person cannot read Retry-After: the page says how long to wait.
  if (err.code === 'rate_limited' && err.retryAfter !== undefined) {
    return { status: err.status, message: t('page.tryAgainIn', { problem: t.server(err.message.replace(/;.*$/, '')), wait: waitFor(t, err.retryAfter) }) };
  }
  return { status: err.status, message: t.server(err.message) };
}

/** "45 seconds", "1 minute", "15 minutes", "2 hours": rounded up, so nobody comes back too early. */
export function waitFor(t: Translator, seconds: number): string {
  if (seconds < 60) return t.plural('page.seconds', Math.max(1, Math.ceil(seconds)));
  if (seconds < 3600) return t.plural('page.minutes', Math.ceil(seconds / 60));
  return t.plural('page.hours', Math.ceil(seconds / 3600));
}
