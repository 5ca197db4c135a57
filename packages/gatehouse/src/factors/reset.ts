// Losing every factor (and the recovery codes): a link by e-mail starts a removal that happens only after
// MFA_RESET_DELAY. A mailbox alone must not be enough to strip an account of its second factor at once (a
// stolen mailbox would then be the whole account), so the owner is told at the start, and any sign-in that
// passes a factor in the meantime shows the factor is not lost after all and cancels the reset.
import { auditEvent } from '../audit/service.ts';
import type { ClientInfo, Context } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Locale, Translator } from '../i18n/index.ts';
import { mailTranslator } from '../i18n/mail-locale.ts';
import { issueToken, redeemToken } from '../recovery/service.ts';
import { noticeMail, type MailAction } from '../recovery/templates.ts';
import { allowMailTo, consumeSignupAttempt } from '../sessions/throttle.ts';
import { mayRecover } from '../sign-in/access-policy.ts';
import { normalizeEmail } from '../users/policy.ts';
import type { User } from '../users/store.ts';
import { removeAllFactors } from './service.ts';

/** Due resets finished per batch by maintenance. */
const FINISH_BATCH = 100;

function tell(ctx: Context, t: Translator, user: User, subject: string, lines: string[], action?: MailAction): void {
  ctx.background.run('mfa reset notice', () => ctx.mailer.send(noticeMail(t, user.email, ctx.config.brandName, subject, lines, action)));
}

function delayText(t: Translator, ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 48 && hours % 24 === 0 ? t.plural('mail.days', hours / 24) : hours >= 1 ? t.plural('mail.hours', Math.round(hours)) : t.plural('mail.minutes', Math.round(ms / 60_000));
}

/**
 * Asks for the link. Answers at once and alike for every address, like forgot-password: the lookup and the
 * e-mail happen after the response. Only an account with a confirmed factor gets a link.
 */
export async function requestMfaReset(ctx: Context, email: string, client: ClientInfo, locale?: Locale): Promise<void> {
  await consumeSignupAttempt(ctx, client.ip);
  const address = normalizeEmail(email);
  ctx.background.run('mfa reset e-mail', async () => {
    const user = await ctx.users.findByEmail(address);
    if (!mayRecover(user) || (await ctx.factors.countConfirmed(user.id)) === 0) return;
    if (!(await allowMailTo(ctx, user.email)).allowed) {
      ctx.log.info({ userId: user.id }, 'mfa reset e-mail not sent: per-address limit reached');
      return;
    }
    const link = await issueToken(ctx, user, 'mfa_reset', ctx.config.resetTokenTtlMs);
    const t = mailTranslator(ctx, user, locale);
    await ctx.mailer.send(
      noticeMail(
        t,
        user.email,
        ctx.config.brandName,
        t('mail.mfaReset.subject'),
        [
          t('mail.mfaReset.asked'),
          t('mail.mfaReset.delay', { delay: delayText(t, ctx.config.mfaResetDelayMs), ttl: delayText(t, ctx.config.resetTokenTtlMs) }),
          t('mail.ignoreNothingChanges'),
        ],
        { label: t('mail.mfaReset.button'), link },
      ),
    );
  });
}

/**
 * The link's click: starts the delayed removal (or, when one is pending already, keeps its date) and tells the
 * owner when it will happen. When the factors go.
 */
export async function confirmMfaReset(ctx: Context, token: string, client: ClientInfo | null, locale?: Locale): Promise<{ removesAt: number }> {
  const userId = await redeemToken(ctx, token, 'mfa_reset');
  const user = userId ? await ctx.users.findById(userId) : null;
  if (!mayRecover(user)) throw new AppError('invalid_or_expired_token');
  const now = ctx.now();
  const dueAt = now + ctx.config.mfaResetDelayMs;
  const started = await ctx.transaction(async (tx) => {
    if (!(await tx.factors.startReset({ userId: user.id, requestedAt: now, dueAt }))) return false;
    await tx.audit.append(auditEvent(ctx, 'mfa_reset_started', { userId: user.id, client, detail: { dueAt: new Date(dueAt).toISOString() } }));
    return true;
  });
  if (!started) return { removesAt: (await ctx.factors.findReset(user.id))?.dueAt ?? dueAt };
  ctx.metrics.event('mfa_reset_started');
  const t = mailTranslator(ctx, user, locale);
  tell(ctx, t, user, t('mail.mfaResetStarted.subject'), [
    t('mail.mfaResetStarted.body', { start: t.dateTime(now), due: t.dateTime(dueAt) }),
    t('mail.mfaResetStarted.ifNotYou'),
  ]);
  return { removesAt: dueAt };
}

/** After a sign-in or step-up that passed a factor: a pending reset is cancelled, audited, and the owner told. */
export async function cancelMfaReset(ctx: Context, user: User, client: ClientInfo | null): Promise<boolean> {
  // A read first: a sign-in with a factor is common and a pending reset rare, so the common case writes nothing.
  if (!(await ctx.factors.findReset(user.id))) return false;
  const cancelled = await ctx.transaction(async (tx) => {
    if (!(await tx.factors.cancelReset(user.id))) return false;
    await tx.audit.append(auditEvent(ctx, 'mfa_reset_cancelled', { userId: user.id, client }));
    return true;
  });
  if (!cancelled) return false;
  ctx.metrics.event('mfa_reset_cancelled');
  const t = mailTranslator(ctx, user);
  tell(ctx, t, user, t('mail.mfaResetCancelled.subject'), [t('mail.mfaResetCancelled.body', { date: t.dateTime(ctx.now()) }), t('mail.mfaResetCancelled.ifNotYou')]);
  return true;
}

/** Maintenance: removes the factors of every user whose reset is due. How many were finished. */
export async function finishDueMfaResets(ctx: Context): Promise<number> {
  const now = ctx.now();
  let finished = 0;
  for (;;) {
    const due = await ctx.factors.listDueResets(now, FINISH_BATCH);
    for (const userId of due) {
      const user = await ctx.users.findById(userId);
      const done = await ctx.transaction(async (tx) => {
        // The claim makes two instances (or two runs) finish a reset once; a cancel that won the race leaves nothing.
        if (!(await tx.factors.claimDueReset(userId, now)) || !user) return false;
        const removed = await removeAllFactors(ctx, user, { actorId: null, client: null, reason: 'reset' }, tx);
        await tx.audit.append(auditEvent(ctx, 'mfa_reset_finished', { userId, detail: { factors: removed } }));
        return true;
      });
      if (done) finished += 1;
    }
    if (due.length < FINISH_BATCH) return finished;
  }
}
