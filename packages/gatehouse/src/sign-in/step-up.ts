// Step-up: what can take over or destroy an account (factors, recovery codes, the password, the e-mail, API
// keys, export, deletion, an admin's changes to others) needs a sign-in within REAUTH_MAX_AGE. Renewing it
// takes the strongest proof the account has: a second factor when there is one, never only a password then.
// Only a factor's successful use renews it, never its registration.
import { recordEvent } from '../audit/service.ts';
import type { ClientInfo, Context } from '../context.ts';
import { AppError, validationError } from '../errors.ts';
import { proveSecondFactor, type SecondFactorProof } from '../factors/service.ts';
import { cancelMfaReset } from '../factors/reset.ts';
import { checkLoginAllowed, recordLoginFailure } from '../sessions/throttle.ts';
import { AMR } from './amr.ts';

export type ReauthProof = { password: string } | SecondFactorProof;

/** Throws 403 reauthentication_required unless the session proved who it is within REAUTH_MAX_AGE. */
export async function assertRecentSignIn(ctx: Context, sessionId: string): Promise<void> {
  const session = await ctx.sessions.find(sessionId);
  if (!session || ctx.now() - session.authTime > ctx.config.reauthMaxAgeMs) {
    throw new AppError('reauthentication_required', { message: 'This needs a recent sign-in: confirm it is you (POST /auth/reauthenticate), then try again' });
  }
}

/** Renews the session's auth time with a password or, for an account with a second factor, with that factor. */
export async function reauthenticate(ctx: Context, caller: { userId: string; sessionId: string }, proof: ReauthProof, client: ClientInfo): Promise<void> {
  const user = await ctx.users.findById(caller.userId);
  const session = await ctx.sessions.find(caller.sessionId);
  if (!user || !session || session.revokedAt !== null) throw new AppError('token_revoked');
  const hasFactor = (await ctx.factors.countConfirmed(user.id)) > 0;
  if (hasFactor && 'password' in proof) {
    throw validationError([{ field: 'code', message: 'This account has a second factor: confirm with a code from it (or a recovery code)' }]);
  }
  if (!hasFactor && !('password' in proof)) {
    throw validationError([{ field: 'password', message: 'This account has no second factor: confirm with your password' }]);
  }
  // The same limits as a login: a stolen session must not become a way to guess the password or a code.
  await checkLoginAllowed(ctx, user.email, client.ip);
  let proved: string[] | null;
  if ('password' in proof) {
    const check = user.passwordHash ? await ctx.passwords.verify(user.passwordHash, proof.password) : await ctx.passwords.burn(proof.password);
    proved = check.ok && user.passwordHash ? [AMR.password] : null;
  } else {
    proved = await proveSecondFactor(ctx, user, proof, client, { kind: 'reauth', sessionId: session.id });
  }
  if (!proved) {
    await recordLoginFailure(ctx, user.email, client.ip);
    await recordEvent(ctx, 'login_failed', { userId: user.id, sessionId: session.id, client, detail: { reason: 'reauthentication_failed' } });
    if ('webauthn' in proof) throw new AppError('invalid_webauthn_response', { message: 'The passkey response is invalid, expired or not for this session: try again' });
    throw 'password' in proof ? new AppError('invalid_credentials', { message: 'The password is wrong' }) : new AppError('invalid_mfa_code');
  }
  const amr = [...new Set([...session.amr, ...proved])];
  if (hasFactor && !amr.includes(AMR.multiFactor)) amr.push(AMR.multiFactor);
  await ctx.sessions.reauthenticate(session.id, ctx.now(), amr);
  await recordEvent(ctx, 'reauthenticated', { userId: user.id, sessionId: session.id, client, detail: { amr: proved.join(' ') } });
  if (hasFactor) await cancelMfaReset(ctx, user, client);
}
