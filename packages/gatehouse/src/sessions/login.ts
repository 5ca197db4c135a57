// Password login: throttle, verify (the same work for unknown e-mails), then start a session.
import { recordEvent } from '../audit/service.ts';
import type { ClientInfo, Context } from '../context.ts';
import { sha256 } from '../crypto/random.ts';
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
  try {
    await checkLoginAllowed(ctx, email, client.ip);
  } catch (err) {
    await recordEvent(ctx, 'login_failed', { client, detail: { reason: 'rate_limited', emailHash: sha256(email).slice(0, 16) } });
    throw err;
  }

  const user = await ctx.users.findByEmail(email);
  const started = performance.now();
  const check = user?.passwordHash ? await ctx.passwords.verify(user.passwordHash, input.password) : await ctx.passwords.burn(input.password);
  ctx.metrics.hashSeconds((performance.now() - started) / 1000);

  if (!user || !check.ok) {
    // Every failure takes as long as the slowest check (an imported bcrypt hash), whatever the account.
    await ctx.passwords.padFailure(check);
    const lockedOut = await recordLoginFailure(ctx, email, client.ip);
    // An unknown e-mail is logged by hash only: the log must not become a list of guessed addresses.
    const who = user ? { userId: user.id } : { detail: { reason: 'unknown_email', emailHash: sha256(email).slice(0, 16) } };
    await recordEvent(ctx, 'login_failed', { client, detail: { reason: 'wrong_password' }, ...who });
    if (lockedOut) await recordEvent(ctx, 'lockout', { client, ...who });
    throw new AppError('invalid_credentials');
  }
  // Only someone who knows the password learns that the account is disabled or unverified.
  if (user.disabledAt !== null) {
    await recordEvent(ctx, 'login_failed', { userId: user.id, client, detail: { reason: 'account_disabled' } });
    throw new AppError('account_disabled');
  }
  if (ctx.config.requireEmailVerification && user.emailVerifiedAt === null) {
    await recordEvent(ctx, 'login_failed', { userId: user.id, client, detail: { reason: 'email_not_verified' } });
    throw new AppError('email_not_verified');
  }

  await recordLoginSuccess(ctx, email);
  const now = ctx.now();
  // Upgrading an old hash is a nicety: when the hash queue is full, it waits for the next login.
  const passwordHash = check.needsRehash ? await ctx.passwords.hash(input.password).catch(() => undefined) : undefined;
  const updated = (await ctx.users.update(user.id, { lastLoginAt: now, ...(passwordHash ? { passwordHash } : {}) }, now)) ?? user;
  const issued = await startSession(ctx, updated, input.mode, client);
  await recordEvent(ctx, 'login_ok', { userId: user.id, sessionId: issued.session.id, client, detail: { mode: input.mode } });
  return { ...issued, user: updated };
}
