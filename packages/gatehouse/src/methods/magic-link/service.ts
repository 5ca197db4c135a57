// Signing in by e-mail: one request mails a link and a 6-digit code, either of which signs in once within
// MAGIC_LINK_TTL. The answer is the same 202, in the same time, for every address (the work happens after it);
// the link is built on PUBLIC_URL only, never on a request's Host (Supabase GHSA-3529-5m8x-rpv3); its page asks
// for a click, so a mail scanner that opens it signs nobody in and uses nothing up. Both are kept in the shared
// state under hashes, so any instance can finish what another started.
import { outboxDir } from '../../mail/transport.ts';
import { randomInt } from 'node:crypto';
import type { ClientInfo, Context } from '../../context.ts';
import { deriveKey, hmac, randomToken, safeEqual, sha256, uuidv7 } from '../../crypto/random.ts';
import { AppError, validationError } from '../../errors.ts';
import type { Locale } from '../../i18n/index.ts';
import { initialLocale, mailTranslator } from '../../i18n/mail-locale.ts';
import type { LoginMode } from '../../sessions/store.ts';
import { allowMailTo, checkLoginAllowed, consumeSignupAttempt, recordLoginFailure, recordLoginSuccess } from '../../sessions/throttle.ts';
import { mayRecover } from '../../sign-in/access-policy.ts';
import { AMR } from '../../sign-in/amr.ts';
import { completeSignIn, type SignInResult } from '../../sign-in/complete-sign-in.ts';
import { auditEvent, recordEvent } from '../../audit/service.ts';
import { checkEmail, normalizeEmail, normalizeName } from '../../users/policy.ts';
import type { User } from '../../users/store.ts';
import { magicLinkMail } from './templates.ts';

export const MAGIC_LINK_PREFIX = 'ghl_';
export const MAGIC_CODE_MAX_FAILURES = 5;
const LINK_KEY = 'magic:link:';
const CODE_KEY = 'magic:code:';

interface PendingLink {
  email: string;
  redirectTo: string | null;
  /** The language the link was asked for in: a sign-up by this link keeps it as the new account's. */
  locale?: Locale | null;
}

interface PendingCode {
  /** HMAC of the code under a server key: a 6-digit code's plain hash would be a lookup away. */
  code: string;
  link: string;
  failures: number;
  expiresAt: number;
}

const codeKeys = new WeakMap<Context, Buffer>();
function codeHash(ctx: Context, email: string, code: string): string {
  let key = codeKeys.get(ctx);
  if (!key) {
    key = deriveKey(ctx.config.secret, 'magic-link-code');
    codeKeys.set(ctx, key);
  }
  return hmac(key, `${email}\n${code}`);
}

const invalid = () => new AppError('invalid_or_expired_token', { message: 'The sign-in link or code is invalid, used or expired: ask for a new one' });

/** Our own pages a link may land on: the account, and the passkey sign-up's "create your passkey" page. */
export const MAGIC_LINK_PAGES: readonly string[] = ['/account', '/register/passkey/new'];

/** Where the link's page may send the browser afterwards: OAUTH_REDIRECT_ALLOWLIST or our own pages. */
export function checkRedirect(ctx: Context, redirectTo: string | undefined): string | null {
  if (redirectTo === undefined) return null;
  if (MAGIC_LINK_PAGES.includes(redirectTo) || ctx.config.oauthRedirectAllowlist.includes(redirectTo)) return redirectTo;
  throw validationError([{ field: 'redirect_to', message: 'Must be /account, /register/passkey/new or one of the URLs in OAUTH_REDIRECT_ALLOWLIST' }]);
}

/**
 * Answers at once: whether the address has an account, may have one, or gets nothing, is decided after the
 * answer has gone, so neither body nor timing tells (the same as forgot-password). `locale`: the requester's
 * language, for the e-mail when the account has none chosen (or there is no account yet).
 */
export async function requestMagicLink(ctx: Context, input: { email: string; redirectTo?: string; locale?: Locale }, client: ClientInfo): Promise<void> {
  const email = normalizeEmail(input.email);
  const problem = checkEmail(email);
  if (problem) throw validationError([problem]);
  const redirectTo = checkRedirect(ctx, input.redirectTo);
  await consumeSignupAttempt(ctx, client.ip);
  ctx.background.run('magic link e-mail', async () => {
    const user = await ctx.users.findByEmail(email);
    if (user ? !mayRecover(user) : !ctx.config.magicLinkSignup) return;
    if (!(await allowMailTo(ctx, email)).allowed) {
      ctx.log.info({ userId: user?.id ?? null }, 'magic link not sent: per-address limit reached');
      return;
    }
    const now = ctx.now();
    const ttl = ctx.config.magicLinkTtlMs;
    const token = randomToken(MAGIC_LINK_PREFIX);
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const linkKey = LINK_KEY + sha256(token);
    await ctx.state.put(linkKey, JSON.stringify({ email, redirectTo, locale: initialLocale(input.locale) } satisfies PendingLink), ttl);
    // One code per address: a newer request replaces the older code (its link still works until it expires).
    await ctx.state.put(CODE_KEY + sha256(email), JSON.stringify({ code: codeHash(ctx, email, code), link: linkKey, failures: 0, expiresAt: now + ttl } satisfies PendingCode), ttl);
    const link = `${ctx.config.publicUrl}/magic-link?token=${encodeURIComponent(token)}`;
    await ctx.mailer.send(magicLinkMail(mailTranslator(ctx, user, input.locale), email, ctx.config.brandName, link, code, ttl, user === null));
    if (ctx.config.env === 'development' && !ctx.config.smtpUrl) ctx.log.info({ to: email, outbox: outboxDir(ctx.config) }, 'magic link e-mail written to the outbox');
  });
}

export type MagicProof = { token: string } | { email: string; code: string };

/**
 * Uses a link or a code (once), then signs in through the pipeline: `amr` email, or the MFA challenge. A new
 * account takes the language the link was asked for in, else `locale` (the language it is used in).
 */
export async function signInWithMagicLink(ctx: Context, proof: MagicProof, mode: LoginMode, client: ClientInfo, locale?: Locale): Promise<SignInResult & { redirectTo: string | null }> {
  const pending = 'token' in proof ? await takeLink(ctx, proof.token) : await takeCode(ctx, proof.email, proof.code, client);
  const user = await accountFor(ctx, pending.email, client, initialLocale(pending.locale) ?? initialLocale(locale));
  const result = await completeSignIn(ctx, { user, amr: [AMR.email], mode, client, detail: { method: 'magic_link' } });
  if (result.kind === 'signed_in') await recordLoginSuccess(ctx, user.email);
  return { ...result, redirectTo: pending.redirectTo };
}

async function takeLink(ctx: Context, token: string): Promise<PendingLink> {
  if (!token.startsWith(MAGIC_LINK_PREFIX) || token.length > 100) throw invalid();
  const raw = await ctx.state.take(LINK_KEY + sha256(token));
  if (!raw) throw invalid();
  const pending = JSON.parse(raw) as PendingLink;
  // The code mailed with it dies with it.
  const code = await ctx.state.get(CODE_KEY + sha256(pending.email));
  if (code && (JSON.parse(code) as PendingCode).link === LINK_KEY + sha256(token)) await ctx.state.delete(CODE_KEY + sha256(pending.email));
  return pending;
}

async function takeCode(ctx: Context, rawEmail: string, code: string, client: ClientInfo): Promise<PendingLink> {
  const email = normalizeEmail(rawEmail);
  const key = CODE_KEY + sha256(email);
  await checkLoginAllowed(ctx, email, client.ip);
  const raw = await ctx.state.take(key);
  const now = ctx.now();
  if (!raw) throw invalid();
  const pending = JSON.parse(raw) as PendingCode;
  if (pending.expiresAt <= now) throw invalid();
  if (!/^\d{6}$/.test(code.trim()) || !safeEqual(codeHash(ctx, email, code.trim()), pending.code)) {
    const failures = pending.failures + 1;
    await recordLoginFailure(ctx, email, client.ip);
    if (failures < MAGIC_CODE_MAX_FAILURES) await ctx.state.put(key, JSON.stringify({ ...pending, failures }), pending.expiresAt - now);
    else await ctx.state.delete(pending.link);
    throw new AppError('invalid_or_expired_token', { message: failures < MAGIC_CODE_MAX_FAILURES ? 'The code is wrong' : 'The code is wrong, and that was the last try: ask for a new one' });
  }
  const link = await ctx.state.take(pending.link);
  return link ? (JSON.parse(link) as PendingLink) : { email, redirectTo: null };
}

/** The account the link was for: using it proves the mailbox, so the address counts as verified. */
async function accountFor(ctx: Context, email: string, client: ClientInfo, locale: Locale | null): Promise<User> {
  const now = ctx.now();
  const existing = await ctx.users.findByEmail(email);
  if (existing) {
    if (existing.emailVerifiedAt !== null) return existing;
    const verified = (await ctx.users.update(existing.id, { emailVerifiedAt: now }, now)) ?? existing;
    await recordEvent(ctx, 'email_verified', { userId: existing.id, client, detail: { by: 'magic_link' } });
    return verified;
  }
  if (!ctx.config.magicLinkSignup) throw invalid();
  const user: User = {
    id: uuidv7(now),
    email,
    name: normalizeName(email.split('@')[0]!.slice(0, 100)),
    role: 'user',
    passwordHash: null,
    emailVerifiedAt: now,
    disabledAt: null,
    createdAt: now,
    updatedAt: now,
    lastLoginAt: null,
    locale,
  };
  await ctx.transaction(async (tx) => {
    // A concurrent sign-up took the address a moment ago: that account is the one the link proves.
    if (!(await tx.users.create(user))) throw new AppError('conflict');
    await tx.audit.append(auditEvent(ctx, 'register', { userId: user.id, client, detail: { method: 'magic_link' } }));
  }).catch(async (err: unknown) => {
    if (!(err instanceof AppError && err.code === 'conflict')) throw err;
  });
  return (await ctx.users.findByEmail(email)) ?? user;
}
