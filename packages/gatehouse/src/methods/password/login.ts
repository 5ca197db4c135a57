// Password login: throttle, verify (the same work for unknown e-mails), then the sign-in pipeline.
import { recordEvent } from '../../audit/service.ts';
import type { ClientInfo, Context } from '../../context.ts';
import { sha256 } from '../../crypto/random.ts';
import { AppError } from '../../errors.ts';
import { AMR } from '../../sign-in/amr.ts';
import { completeSignIn, enforceSignInPolicy, type SignInResult } from '../../sign-in/complete-sign-in.ts';
import type { LoginMode } from '../../sessions/store.ts';
import { checkLoginAllowed, recordLoginFailure, recordLoginSuccess } from '../../sessions/throttle.ts';
import { normalizeEmail } from '../../users/policy.ts';

export interface LoginInput {
  email: string;
  password: string;
  mode: LoginMode;
  /** The browser's device cookie, if any: a valid one for this e-mail counts failures per device (src/sessions/device-cookie.ts). */
  deviceCookie?: string | null;
}

export async function login(ctx: Context, input: LoginInput, client: ClientInfo): Promise<SignInResult> {
  const email = normalizeEmail(input.email);
  try {
    await checkLoginAllowed(ctx, email, client.ip, input.deviceCookie);
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
    const lockedOut = await recordLoginFailure(ctx, email, client.ip, input.deviceCookie);
    // An unknown e-mail is logged by hash only: the log must not become a list of guessed addresses.
    const who = user ? { userId: user.id } : { detail: { reason: 'unknown_email', emailHash: sha256(email).slice(0, 16) } };
    await recordEvent(ctx, 'login_failed', { client, detail: { reason: 'wrong_password' }, ...who });
    if (lockedOut) await recordEvent(ctx, 'lockout', { client, ...who });
    throw new AppError('invalid_credentials');
  }
  // Only someone who knows the password learns that the account is disabled or unverified.
  await enforceSignInPolicy(ctx, user, client);
  // Upgrading an old hash is a nicety: when the hash queue is full, it waits for the next login.
  const passwordHash = check.needsRehash ? await ctx.passwords.hash(input.password).catch(() => undefined) : undefined;
  const result = await completeSignIn(ctx, { user, amr: [AMR.password], mode: input.mode, client, userPatch: passwordHash ? { passwordHash } : undefined });
  // Only a finished sign-in clears the account's failures: a right password followed by wrong second-factor
  // codes must keep counting, or the password would reset the count between guesses.
  if (result.kind === 'signed_in') await recordLoginSuccess(ctx, email, input.deviceCookie);
  return result;
}
