// Password login: throttle, verify (the same work for unknown e-mails), then start a session.
import type { ClientInfo, Context } from '../context.ts';
import { burnPasswordCheck, hashPassword, verifyPassword } from '../crypto/passwords.ts';
import { AppError } from '../errors.ts';
import { normalizeEmail } from '../users/policy.ts';
import type { User } from '../users/store.ts';
import { startSession, type IssuedSession } from './service.ts';
import type { LoginMode } from './store.ts';
import { checkLoginAllowed, recordLoginFailure, recordLoginSuccess } from './throttle.ts';

export interface LoginInput {
  email: string;
  password: string;
  mode: LoginMode;
}

export async function login(ctx: Context, input: LoginInput, client: ClientInfo): Promise<IssuedSession & { user: User }> {
  const email = normalizeEmail(input.email);
  await checkLoginAllowed(ctx, email, client.ip);

  const user = await ctx.users.findByEmail(email);
  let check = { ok: false, needsRehash: false };
  if (user?.passwordHash) check = await verifyPassword(user.passwordHash, input.password);
  else await burnPasswordCheck(input.password);

  if (!user || !check.ok) {
    await recordLoginFailure(ctx, email, client.ip);
    throw new AppError('invalid_credentials');
  }
  // Only someone who knows the password learns that the account is disabled or unverified.
  if (user.disabledAt !== null) throw new AppError('account_disabled');
  if (ctx.config.requireEmailVerification && user.emailVerifiedAt === null) throw new AppError('email_not_verified');

  await recordLoginSuccess(ctx, email);
  const now = ctx.now();
  const passwordHash = check.needsRehash ? await hashPassword(input.password) : undefined;
  const updated = (await ctx.users.update(user.id, { lastLoginAt: now, ...(passwordHash ? { passwordHash } : {}) }, now)) ?? user;
  const issued = await startSession(ctx, updated, input.mode, client);
  return { ...issued, user: updated };
}
