// The one sign-in pipeline. Every way in (password, social sign-in, and the methods to come) proves who the
// user is, then ends here: the access policy, the session with how it was signed in, the audit event, the
// tokens. A new way in adds its `amr` and calls this; it never writes a session of its own.
import { auditEvent, recordEvent } from '../audit/service.ts';
import type { AuditEvent, AuditType } from '../audit/store.ts';
import type { ClientInfo, Context, Stores } from '../context.ts';
import { AppError } from '../errors.ts';
import { prepareSession, type IssuedSession } from '../sessions/service.ts';
import type { LoginMode } from '../sessions/store.ts';
import type { User, UserPatch } from '../users/store.ts';
import { signInRefusal } from './access-policy.ts';
import { AMR } from './amr.ts';
import { issueMfaChallenge, passSecondStep, type MfaChallenge, type SecondStepInput } from './mfa-challenge.ts';
import { cancelMfaReset } from '../factors/reset.ts';
import { noticeNewDevice } from './new-device.ts';

export interface SignInRequest {
  user: User;
  /** RFC 8176 methods the user completed for this sign-in. */
  amr: string[];
  mode: LoginMode;
  client: ClientInfo;
  /** Written into the audit event (never a secret): the provider, say. */
  detail?: AuditEvent['detail'];
  /** Also written to the user row in the same transaction (an upgraded password hash, say). */
  userPatch?: UserPatch;
  /** `register` when the session is the account's first; `login_ok` otherwise. */
  auditType?: Extract<AuditType, 'login_ok' | 'register'>;
  /** The factor that proved this first step (a passkey without user verification): a second step must use another. */
  firstFactorId?: string;
}

export interface SignedIn {
  kind: 'signed_in';
  user: User;
  issued: IssuedSession;
}

/** Signed in, or (for an account with a second factor, after a first factor only) the challenge for it. */
export type SignInResult = SignedIn | MfaChallenge;

/** Throws the policy's refusal (after auditing it) when the user may not sign in. */
export async function enforceSignInPolicy(ctx: Context, user: User, client: ClientInfo): Promise<void> {
  const refusal = signInRefusal(ctx.config, user);
  if (refusal === null) return;
  await recordEvent(ctx, 'login_failed', { userId: user.id, client, detail: { reason: refusal } });
  throw new AppError(refusal);
}

/** A sign-in written in a caller's transaction; `finish()` signs its tokens once that transaction has committed. */
export interface WrittenSignIn {
  user: User;
  finish(): Promise<SignedIn>;
}

/**
 * Writes the sign-in in the caller's transaction (sign-up writes the user in the same one): the user row, the
 * session, its first refresh token and the audit event commit together or not at all. Nothing here waits on
 * anything outside `tx` (on SQLite that would wait on the very connection the transaction holds).
 */
export async function writeSignIn(ctx: Context, request: SignInRequest, tx: Stores): Promise<WrittenSignIn> {
  const { user, mode, client } = request;
  // Checked (and the refusal audited) by the caller before its transaction; here only as a guard.
  const refusal = signInRefusal(ctx.config, user);
  if (refusal !== null) throw new AppError(refusal);
  const now = ctx.now();
  const prepared = prepareSession(ctx, user, mode, client, request.amr);
  const type = request.auditType ?? 'login_ok';
  const event = auditEvent(ctx, type, { userId: user.id, sessionId: prepared.session.id, client, detail: { mode, amr: request.amr.join(' '), ...request.detail } });
  const updated = (await tx.users.update(user.id, { ...request.userPatch, lastLoginAt: now }, now)) ?? user;
  await tx.sessions.create(prepared.session, prepared.secret);
  await tx.audit.append(event);
  return {
    user: updated,
    async finish() {
      ctx.metrics.event(type);
      return { kind: 'signed_in', user: updated, issued: await prepared.issue() };
    },
  };
}

/**
 * Signs the user in, in a transaction of its own; or, when the account has a confirmed second factor and the
 * methods so far do not include one, answers with the challenge for it and starts nothing. Whether a second
 * factor is needed is decided from what was completed, never from what the request claims.
 */
export async function completeSignIn(ctx: Context, request: SignInRequest): Promise<SignInResult> {
  await enforceSignInPolicy(ctx, request.user, request.client);
  if (!request.amr.includes(AMR.multiFactor) && (await ctx.factors.countConfirmed(request.user.id)) > 0) {
    return issueMfaChallenge(ctx, request);
  }
  const written = await ctx.transaction((tx) => writeSignIn(ctx, request, tx));
  const signedIn = await written.finish();
  noticeNewDevice(ctx, request.user, signedIn.issued.session, request.user.lastLoginAt === null);
  return signedIn;
}

/** The second step: a factor against the ticket, then the same pipeline with both factors' methods. */
export async function completeMfaSignIn(ctx: Context, input: SecondStepInput, client: ClientInfo): Promise<SignedIn> {
  const step = await passSecondStep(ctx, input, client);
  const result = await completeSignIn(ctx, { user: step.user, amr: step.amr, mode: step.mode, client, detail: step.detail ?? undefined });
  if (result.kind !== 'signed_in') throw new Error('a second step must end signed in');
  await cancelMfaReset(ctx, step.user, client);
  return result;
}
