// Changing the sign-in address. The new address must prove itself (a link mailed to it) before it replaces the
// old one, and the old address is told at once, with a "this wasn't me" link that puts it back and ends every
// session: a stolen session cannot quietly move the account to another mailbox and then reset its password.
// Identities at social providers keep the address the provider gave (they are never matched by it again).
import { auditEvent } from '../audit/service.ts';
import type { ClientInfo, Context } from '../context.ts';
import { AppError, validationError } from '../errors.ts';
import type { Locale } from '../i18n/index.ts';
import { mailTranslator } from '../i18n/mail-locale.ts';
import { deliverReset, issueToken, redeemOneTimeToken } from '../recovery/service.ts';
import { hoursOrDays, noticeMail } from '../recovery/templates.ts';
import { endUserSessions } from '../sessions/service.ts';
import { allowMailTo } from '../sessions/throttle.ts';
import { mayRecover } from '../sign-in/access-policy.ts';
import { checkEmail, normalizeEmail } from './policy.ts';
import { getUser } from './service.ts';
import type { User } from './store.ts';

const DAY = 86_400_000;
/** The old address's "this wasn't me" link: long enough for someone back from a holiday to notice. */
export const EMAIL_REVERT_TTL_MS = 14 * DAY;

/**
 * Mails a confirmation link to `newEmail` and a notice to the current address. 409 email_taken when another
 * account has the address: the caller proved a recent sign-in, and sign-up tells anyone as much anyway. Both
 * mails are in the user's language (else `locale`, the language the caller asked in).
 */
export async function requestEmailChange(ctx: Context, caller: { userId: string; sessionId: string }, newEmail: string, client: ClientInfo, locale?: Locale): Promise<void> {
  const user = await getUser(ctx, caller.userId);
  const email = normalizeEmail(newEmail);
  const problem = checkEmail(email);
  if (problem) throw validationError([problem]);
  if (email === user.email) throw validationError([{ field: 'email', message: 'This is already your address' }]);
  if (await ctx.users.findByEmail(email)) throw new AppError('email_taken');
  // The new address is anyone's the caller types: it gets no more mail from us than forgot-password would send it.
  const mail = await allowMailTo(ctx, email);
  if (!mail.allowed) {
    throw new AppError('rate_limited', { message: 'Too many e-mails to this address; try again later', retryAfter: Math.max(1, Math.ceil(mail.resetInMs / 1000)) });
  }
  const brand = ctx.config.brandName;
  const ttl = ctx.config.verifyTokenTtlMs;
  const now = ctx.now();
  const t = mailTranslator(ctx, user, locale);
  const addresses = { oldEmail: user.email, newEmail: email };
  await ctx.transaction(async (tx) => {
    // A new request retires the previous confirmation link; every revert link stays good (a later request must
    // not be a way to kill the owner's).
    const confirm = await issueToken(ctx, user, 'email_change', ttl, tx, { email });
    const revert = await issueToken(ctx, user, 'email_change_revert', EMAIL_REVERT_TTL_MS, tx, { email: user.email, keepOlder: true });
    await tx.mail.enqueue(
      noticeMail(t, email, brand, t('mail.emailChange.confirm.subject'), [
        t('mail.emailChange.confirm.asked', { brand, ...addresses }),
        t('mail.emailChange.confirm.howTo', { duration: hoursOrDays(t, ttl), ...addresses }),
        t('mail.ignoreNothingChanges'),
      ], { label: t('mail.emailChange.confirm.button'), link: confirm }),
      now,
    );
    await tx.mail.enqueue(
      noticeMail(t, user.email, brand, t('mail.emailChange.notice.subject'), [
        t('mail.emailChange.notice.asked', { date: t.dateTime(now), device: client.userAgent ?? t('mail.unknown'), ip: client.ip, ...addresses }),
        t('mail.emailChange.notice.ifYou'),
        t('mail.emailChange.notice.ifNotYou', { duration: hoursOrDays(t, EMAIL_REVERT_TTL_MS), ...addresses }),
      ], { label: t('mail.notMe.button'), link: revert }),
      now,
    );
    await tx.audit.append(auditEvent(ctx, 'email_change_requested', { userId: user.id, sessionId: caller.sessionId, client, detail: { from: user.email, to: email } }));
  });
  ctx.mailer.kick();
}

/** Uses the confirmation link: the account's address becomes the new one, verified (the link proved it). */
export async function confirmEmailChange(ctx: Context, token: string, client: ClientInfo | null): Promise<User> {
  return ctx.transaction(async (tx) => {
    const found = await redeemOneTimeToken(ctx, token, 'email_change', tx);
    const user = found ? await tx.users.lock(found.userId) : null;
    if (!found?.email || !mayRecover(user)) throw new AppError('invalid_or_expired_token');
    // Taken since the request: the whole change rolls back, so the link still works if the other account goes.
    const changed = await tx.users.changeEmail(user.id, found.email, ctx.now());
    if (changed === 'email_taken') throw new AppError('email_taken');
    if (!changed) throw new AppError('invalid_or_expired_token');
    await tx.audit.append(auditEvent(ctx, 'email_changed', { userId: user.id, client, detail: { from: user.email, to: changed.email } }));
    return changed;
  });
}

export interface RevertResult {
  /** The address was put back (false when the change had not happened yet, or the old address was taken since). */
  reverted: boolean;
  sessionsEnded: number;
}

/**
 * "This wasn't me", from the old address: cancels a pending change, puts the old address back if the change
 * happened, ends every session and mails a password reset link to the (restored) address.
 */
export async function revertEmailChange(ctx: Context, token: string, client: ClientInfo | null, locale?: Locale): Promise<RevertResult> {
  const { user, reverted } = await ctx.transaction(async (tx) => {
    const found = await redeemOneTimeToken(ctx, token, 'email_change_revert', tx);
    const user = found ? await tx.users.lock(found.userId) : null;
    if (!found?.email || !user) throw new AppError('invalid_or_expired_token');
    const now = ctx.now();
    await tx.oneTimeTokens.retire(user.id, 'email_change', now);
    let restored: User = user;
    if (user.email !== found.email) {
      // Checked first: on PostgreSQL a failed unique write would abort the transaction that ends the change.
      const holder = await tx.users.findByEmail(found.email);
      const changed = holder ? null : await tx.users.changeEmail(user.id, found.email, now);
      if (changed && changed !== 'email_taken') restored = changed;
    }
    const reverted = restored.email !== user.email;
    await tx.audit.append(auditEvent(ctx, 'email_change_reverted', { userId: user.id, client, detail: { from: user.email, to: found.email, reverted } }));
    return { user: restored, reverted };
  });
  const sessionsEnded = await endUserSessions(ctx, user.id, 'email_change_reverted');
  if (mayRecover(user)) ctx.background.run('reset e-mail', () => deliverReset(ctx, user, locale));
  return { reverted, sessionsEnded };
}
