// Accounts an admin brings in: an invitation to set a password, and a new verification link on request.
import { auditEvent } from '../audit/service.ts';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Locale } from '../i18n/index.ts';
import { mailTranslator } from '../i18n/mail-locale.ts';
import { issueToken } from '../recovery/service.ts';
import { noticeMail, verificationMail } from '../recovery/templates.ts';
import { createUser } from '../users/service.ts';
import type { User } from '../users/store.ts';
import type { Actor } from './service.ts';

const DAY = 86_400_000;
/** An invitation waits longer than a reset link: people read such mail days later. */
export const INVITE_TTL_MS = 7 * DAY;

export interface Invitation {
  email: string;
  name?: string;
  role?: string;
  /** The account's language, when the admin chose one: its e-mails (this invitation first) follow it. */
  locale?: Locale;
}

/**
 * Creates an account without a password and mails its owner a link to choose one. The link is a password-reset
 * link that lives INVITE_TTL_MS: the reset page and POST /auth/reset-password already set a password and mark
 * the address verified (the link proved it), so an invitation needs no flow of its own. 409 email_taken.
 */
export async function inviteUser(ctx: Context, input: Invitation, actor: Actor): Promise<User> {
  const brand = ctx.config.brandName;
  const account = { email: input.email, name: input.name, role: input.role, password: null, locale: input.locale ?? null };
  const user = await createUser(ctx, account, { by: actor.userId, via: 'invitation' }, async (tx, user) => {
    const link = await issueToken(ctx, user, 'reset_password', INVITE_TTL_MS, tx);
    const t = mailTranslator(ctx, user);
    await tx.mail.enqueue(
      noticeMail(t, user.email, brand, t('mail.invite.subject', { brand }), [
        t('mail.invite.created', { brand, email: user.email }),
        t('mail.invite.choose', { duration: t.plural('mail.days', INVITE_TTL_MS / DAY) }),
      ], { label: t('mail.invite.button'), link }),
      ctx.now(),
    );
    await tx.audit.append(auditEvent(ctx, 'user_invited', { userId: user.id, client: actor.client, detail: { by: actor.userId, role: user.role } }));
  });
  ctx.mailer.kick();
  return user;
}

/** Mails the user a new verification link (older ones stop working). 409 conflict when the address is verified. */
export async function resendVerificationFor(ctx: Context, user: User, actor: Actor): Promise<void> {
  if (user.emailVerifiedAt !== null) throw new AppError('conflict', { message: 'The address is already verified' });
  await ctx.transaction(async (tx) => {
    const link = await issueToken(ctx, user, 'verify_email', ctx.config.verifyTokenTtlMs, tx);
    await tx.mail.enqueue(verificationMail(mailTranslator(ctx, user), user.email, ctx.config.brandName, link, ctx.config.verifyTokenTtlMs), ctx.now());
    await tx.audit.append(auditEvent(ctx, 'verification_resent', { userId: user.id, client: actor.client, detail: { by: actor.userId } }));
  });
  ctx.mailer.kick();
}
