// Accounts an admin brings in: an invitation to set a password, and a new verification link on request.
import { auditEvent } from '../audit/service.ts';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
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
}

/**
 * Creates an account without a password and mails its owner a link to choose one. The link is a password-reset
 * link that lives INVITE_TTL_MS: the reset page and POST /auth/reset-password already set a password and mark
 * the address verified (the link proved it), so an invitation needs no flow of its own. 409 email_taken.
 */
export async function inviteUser(ctx: Context, input: Invitation, actor: Actor): Promise<User> {
  const brand = ctx.config.brandName;
  const user = await createUser(ctx, { email: input.email, name: input.name, role: input.role, password: null }, { by: actor.userId, via: 'invitation' }, async (tx, user) => {
    const link = await issueToken(ctx, user, 'reset_password', INVITE_TTL_MS, tx);
    await tx.mail.enqueue(
      noticeMail(user.email, brand, `You are invited to ${brand}`, [
        `An administrator of ${brand} made an account for you: ${user.email}.`,
        `Choose a password with the link below to start using it. The link works once, for ${INVITE_TTL_MS / DAY} days; after that, ask for a new one with "Forgot password".`,
      ], { label: 'Choose a password', link }),
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
    await tx.mail.enqueue(verificationMail(user.email, ctx.config.brandName, link, ctx.config.verifyTokenTtlMs), ctx.now());
    await tx.audit.append(auditEvent(ctx, 'verification_resent', { userId: user.id, client: actor.client, detail: { by: actor.userId } }));
  });
  ctx.mailer.kick();
}
