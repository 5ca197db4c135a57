// E-mail verification and password recovery. Tokens are random, stored as SHA-256, single use, with a TTL.
import { recordEvent } from '../audit/service.ts';
import { outboxDir } from '../mail/transport.ts';
import type { ClientInfo, Context, Stores } from '../context.ts';
import { randomToken, sha256 } from '../crypto/random.ts';
import { AppError, validationError } from '../errors.ts';
import type { Locale } from '../i18n/index.ts';
import { mailTranslator } from '../i18n/mail-locale.ts';
import { endUserSessions } from '../sessions/service.ts';
import { allowMailTo, consumeSignupAttempt, recordLoginSuccess } from '../sessions/throttle.ts';
import { mayRecover } from '../sign-in/access-policy.ts';
import { checkPassword, normalizeEmail } from '../users/policy.ts';
import type { User } from '../users/store.ts';
import type { OneTimePurpose, OneTimeToken } from './store.ts';
import { passwordChangedMail, resetMail, verificationMail } from './templates.ts';

const PREFIX: Record<OneTimePurpose, string> = { verify_email: 'ghv_', reset_password: 'ghk_', mfa_reset: 'ghf_', not_me: 'ghn_', email_change: 'ghe_', email_change_revert: 'ghx_' };
const PAGE: Record<OneTimePurpose, string> = {
  verify_email: '/verify-email',
  reset_password: '/reset-password',
  mfa_reset: '/mfa-reset',
  not_me: '/not-me',
  email_change: '/email-change',
  email_change_revert: '/email-change/revert',
};

export interface TokenOptions {
  /** An address the token is about, kept with its hash (never in the link). */
  email?: string;
  /** Keep the user's older links of this purpose working (a "this wasn't me" link must outlive later requests). */
  keepOlder?: boolean;
}

/** A link to `PAGE[purpose]` with a new token for the user; the user's older links of that purpose stop working. */
export async function issueToken(ctx: Context, user: User, purpose: OneTimePurpose, ttlMs: number, stores: Stores = ctx, options: TokenOptions = {}): Promise<string> {
  const token = randomToken(PREFIX[purpose]);
  const now = ctx.now();
  const row = { hash: sha256(token), userId: user.id, purpose, createdAt: now, expiresAt: now + ttlMs, usedAt: null, email: options.email ?? null };
  // A new token retires the older ones: only the latest e-mail works.
  if (options.keepOlder) await stores.oneTimeTokens.add(row);
  else await stores.oneTimeTokens.replace(row);
  return `${ctx.config.publicUrl}${PAGE[purpose]}?token=${encodeURIComponent(token)}`;
}

/** In development without SMTP, says where the message went; never the link itself (a live token in a log). */
function logOutboxInDevelopment(ctx: Context, kind: string, to: string): void {
  if (ctx.config.env === 'development' && !ctx.config.smtpUrl) ctx.log.info({ to, outbox: outboxDir(ctx.config) }, `${kind} e-mail written to the outbox`);
}

function isToken(value: string, purpose: OneTimePurpose): boolean {
  return value.startsWith(PREFIX[purpose]) && value.length <= 100;
}

/** Uses a token of `purpose` up (once, however many race) and returns its user id; null when it does not work. */
export async function redeemToken(ctx: Context, token: string, purpose: OneTimePurpose): Promise<string | null> {
  return (await redeemOneTimeToken(ctx, token, purpose))?.userId ?? null;
}

/** The same, returning the whole token (its address too); through `stores`, it is used up only if they commit. */
export async function redeemOneTimeToken(ctx: Context, token: string, purpose: OneTimePurpose, stores: Stores = ctx): Promise<OneTimeToken | null> {
  const now = ctx.now();
  const hash = sha256(token);
  const found = isToken(token, purpose) ? await stores.oneTimeTokens.findUsable(hash, purpose, now) : null;
  if (!found || !(await stores.oneTimeTokens.consume(hash, purpose, now))) return null;
  return found;
}

/** Sends the verification e-mail after the response; it counts against the address's e-mail limit. */
export function sendVerificationEmail(ctx: Context, user: User, locale?: Locale): void {
  if (user.emailVerifiedAt !== null) return;
  ctx.background.run('verification e-mail', async () => {
    if ((await allowMailTo(ctx, user.email)).allowed) await deliverVerification(ctx, user, locale);
  });
}

/**
 * Writes the verification link and its e-mail through `tx`, so both commit with the account they are for (a crash
 * after the answer loses no mail). The caller checks allowVerificationMail first, and kicks the mailer after
 * committing.
 */
export async function queueVerificationEmail(ctx: Context, tx: Stores, user: User, locale?: Locale): Promise<void> {
  const link = await issueToken(ctx, user, 'verify_email', ctx.config.verifyTokenTtlMs, tx);
  await tx.mail.enqueue(verificationMail(mailTranslator(ctx, user, locale), user.email, ctx.config.brandName, link, ctx.config.verifyTokenTtlMs), ctx.now());
  logOutboxInDevelopment(ctx, 'verification', user.email);
}

/** Whether a verification e-mail may go to this address now (it counts against the address's e-mail limit). */
export async function allowVerificationMail(ctx: Context, user: User): Promise<boolean> {
  return user.emailVerifiedAt === null && (await allowMailTo(ctx, user.email)).allowed;
}

async function deliverVerification(ctx: Context, user: User, locale?: Locale): Promise<void> {
  const link = await issueToken(ctx, user, 'verify_email', ctx.config.verifyTokenTtlMs);
  await ctx.mailer.send(verificationMail(mailTranslator(ctx, user, locale), user.email, ctx.config.brandName, link, ctx.config.verifyTokenTtlMs));
  logOutboxInDevelopment(ctx, 'verification', user.email);
}

export async function verifyEmail(ctx: Context, token: string, client: ClientInfo | null = null): Promise<User> {
  const now = ctx.now();
  const hash = sha256(token);
  const found = isToken(token, 'verify_email') ? await ctx.oneTimeTokens.findUsable(hash, 'verify_email', now) : null;
  if (!found || !(await ctx.oneTimeTokens.consume(hash, 'verify_email', now))) throw new AppError('invalid_or_expired_token');
  const user = await ctx.users.findById(found.userId);
  if (!user) throw new AppError('invalid_or_expired_token');
  if (user.emailVerifiedAt !== null) return user;
  const updated = (await ctx.users.update(user.id, { emailVerifiedAt: now }, now)) ?? user;
  await recordEvent(ctx, 'email_verified', { userId: user.id, client });
  return updated;
}

export async function resendVerification(ctx: Context, userId: string, client: ClientInfo, locale?: Locale): Promise<void> {
  await consumeSignupAttempt(ctx, client.ip);
  const user = await ctx.users.findById(userId);
  if (!user || user.emailVerifiedAt !== null) return;
  // The caller is signed in as this account, so saying "too many" reveals nothing.
  const mail = await allowMailTo(ctx, user.email);
  if (!mail.allowed) {
    throw new AppError('rate_limited', { message: 'Too many verification e-mails for this address; try again later', retryAfter: Math.max(1, Math.ceil(mail.resetInMs / 1000)) });
  }
  ctx.background.run('verification e-mail', () => deliverVerification(ctx, user, locale));
}

/**
 * The same for someone who cannot sign in yet (under REQUIRE_EMAIL_VERIFICATION an unverified account has no
 * session to ask from): by address, answered at once and alike for every address, like forgot-password.
 */
export async function resendVerificationTo(ctx: Context, email: string, client: ClientInfo, locale?: Locale): Promise<void> {
  await consumeSignupAttempt(ctx, client.ip);
  const address = normalizeEmail(email);
  ctx.background.run('verification e-mail', async () => {
    const user = await ctx.users.findByEmail(address);
    if (!mayRecover(user) || user.emailVerifiedAt !== null) return;
    if ((await allowMailTo(ctx, user.email)).allowed) await deliverVerification(ctx, user, locale);
  });
}

/**
 * Answers at once, whatever the address: the lookup and the e-mail happen after the response, so neither
 * the body nor the time tells whether an account exists.
 */
export async function forgotPassword(ctx: Context, email: string, client: ClientInfo, locale?: Locale): Promise<void> {
  await consumeSignupAttempt(ctx, client.ip);
  const address = normalizeEmail(email);
  ctx.background.run('reset e-mail', async () => {
    const user = await ctx.users.findByEmail(address);
    if (!mayRecover(user)) return;
    // Past the per-address limit the answer is the same 202, and no e-mail goes out.
    if (!(await allowMailTo(ctx, user.email)).allowed) {
      ctx.log.info({ userId: user.id }, 'reset e-mail not sent: per-address limit reached');
      return;
    }
    await deliverReset(ctx, user, locale);
  });
}

/** Mails the user a reset link (forgot-password, and "this wasn't me" after a new-device notice). */
export async function deliverReset(ctx: Context, user: User, locale?: Locale): Promise<void> {
  const link = await issueToken(ctx, user, 'reset_password', ctx.config.resetTokenTtlMs);
  await ctx.mailer.send(resetMail(mailTranslator(ctx, user, locale), user.email, ctx.config.brandName, link, ctx.config.resetTokenTtlMs));
  logOutboxInDevelopment(ctx, 'password reset', user.email);
}

/** Whether a reset link still works, without using it: the page says so before anything is typed. */
export async function resetLinkUsable(ctx: Context, token: string): Promise<boolean> {
  if (!isToken(token, 'reset_password')) return false;
  const found = await ctx.oneTimeTokens.findUsable(sha256(token), 'reset_password', ctx.now());
  return found !== null && mayRecover(await ctx.users.findById(found.userId));
}

/** Sets a new password (same policy as sign-up), ends every session and tells the owner. */
export async function resetPassword(ctx: Context, token: string, password: string, client: ClientInfo | null = null, locale?: Locale): Promise<User> {
  const now = ctx.now();
  const hash = sha256(token);
  const found = isToken(token, 'reset_password') ? await ctx.oneTimeTokens.findUsable(hash, 'reset_password', now) : null;
  const user = found ? await ctx.users.findById(found.userId) : null;
  if (!found || !mayRecover(user)) throw new AppError('invalid_or_expired_token');
  // The whole input is checked before the token is used up: a weak password leaves the link working.
  const problem = checkPassword(password, user.email, { minLength: ctx.config.passwordMinLength, maxLength: ctx.config.passwordMaxLength });
  if (problem) throw validationError([problem]);
  const passwordHash = await ctx.passwords.hash(password);
  if (!(await ctx.oneTimeTokens.consume(hash, 'reset_password', now))) throw new AppError('invalid_or_expired_token');
  // The reset link proved the mailbox, so the address counts as verified from now on.
  const updated = (await ctx.users.update(user.id, { passwordHash, emailVerifiedAt: user.emailVerifiedAt ?? now }, now)) ?? user;
  const ended = await endUserSessions(ctx, user.id, 'password_reset');
  await recordEvent(ctx, 'password_reset', { userId: user.id, client, detail: { sessionsEnded: ended } });
  await recordLoginSuccess(ctx, user.email);
  ctx.background.run('password changed notice', () => ctx.mailer.send(passwordChangedMail(mailTranslator(ctx, user, locale), user.email, ctx.config.brandName, now, 'reset')));
  return updated;
}
