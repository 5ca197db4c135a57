// The second step of a sign-in. A first factor (password, social sign-in, magic link, a passkey without user
// verification) on an account with a confirmed second factor starts no session: it gets a ticket, bound to the
// user and the first factor's mode, single use, five minutes, dead after five wrong codes. Each wrong code also
// counts toward the account's failed-login limit, so a 6-digit code cannot be guessed across many tickets (from
// a browser with a valid device cookie, toward that device's: src/sessions/device-cookie.ts).
import { recordEvent } from '../audit/service.ts';
import type { ClientInfo, Context } from '../context.ts';
import { randomToken, sha256 } from '../crypto/random.ts';
import { AppError } from '../errors.ts';
import { availableMethods, proveSecondFactor, type SecondFactorMethod, type SecondFactorProof } from '../factors/service.ts';
import type { LoginMode } from '../sessions/store.ts';
import { checkLoginAllowed, recordLoginFailure, recordLoginSuccess } from '../sessions/throttle.ts';
import type { User } from '../users/store.ts';
import { AMR } from './amr.ts';

export const MFA_TICKET_PREFIX = 'ghm_';
export const MFA_TICKET_TTL_MS = 5 * 60_000;
export const MFA_TICKET_MAX_FAILURES = 5;
const TICKET_KEY = 'mfa:ticket:';

interface Ticket {
  userId: string;
  mode: LoginMode;
  /** What the first factor proved. */
  amr: string[];
  /** Audit detail of the first factor (the provider, say). */
  detail: Record<string, string | number | boolean | null> | null;
  /** The factor that was the first step (a passkey without user verification): the second must be another. */
  firstFactorId?: string | null;
  failures: number;
  expiresAt: number;
}

export interface MfaChallenge {
  kind: 'mfa_required';
  user: User;
  mfaTicket: string;
  methods: SecondFactorMethod[];
  expiresIn: number;
}

/** Starts the second step: stores the ticket (hashed) in the shared state, so any instance can finish it. */
export async function issueMfaChallenge(
  ctx: Context,
  request: { user: User; amr: string[]; mode: LoginMode; client: ClientInfo; detail?: Ticket['detail']; firstFactorId?: string },
): Promise<MfaChallenge> {
  const now = ctx.now();
  const mfaTicket = randomToken(MFA_TICKET_PREFIX);
  const firstFactorId = request.firstFactorId ?? null;
  const ticket: Ticket = { userId: request.user.id, mode: request.mode, amr: request.amr, detail: request.detail ?? null, firstFactorId, failures: 0, expiresAt: now + MFA_TICKET_TTL_MS };
  await ctx.state.put(TICKET_KEY + sha256(mfaTicket), JSON.stringify(ticket), MFA_TICKET_TTL_MS);
  await recordEvent(ctx, 'mfa_challenged', { userId: request.user.id, client: request.client, detail: { mode: request.mode, amr: request.amr.join(' ') } });
  return { kind: 'mfa_required', user: request.user, mfaTicket, methods: await availableMethods(ctx, request.user.id, firstFactorId), expiresIn: Math.floor(MFA_TICKET_TTL_MS / 1000) };
}

/** A live ticket's user and first factor, read without using it up (for the passkey options of its second step). */
export async function peekMfaTicket(ctx: Context, mfaTicket: string): Promise<{ userId: string; ticketHash: string; firstFactorId: string | null }> {
  if (!mfaTicket.startsWith(MFA_TICKET_PREFIX) || mfaTicket.length > 100) throw deadTicket();
  const ticketHash = sha256(mfaTicket);
  const raw = await ctx.state.get(TICKET_KEY + ticketHash);
  const ticket = raw ? (JSON.parse(raw) as Ticket) : null;
  if (!ticket || ticket.expiresAt <= ctx.now()) throw deadTicket();
  return { userId: ticket.userId, ticketHash, firstFactorId: ticket.firstFactorId ?? null };
}

const deadTicket = () => new AppError('invalid_mfa_ticket', { message: 'The sign-in ticket is invalid, used or expired: sign in again' });

export interface SecondStep {
  user: User;
  mode: LoginMode;
  /** The first factor's methods and the second's, with `mfa`. */
  amr: string[];
  detail: Ticket['detail'];
}

export interface SecondStepInput {
  mfaTicket: string;
  proof: SecondFactorProof;
  mode?: LoginMode;
  /** The browser's device cookie, if any: wrong codes from a trusted device count against it, not the account. */
  deviceCookie?: string | null;
}

/**
 * Checks the second factor against the ticket. The ticket is taken first (so it works once, however many
 * requests race with it) and put back, one failure more, after a wrong code while it has tries left.
 */
export async function passSecondStep(ctx: Context, input: SecondStepInput, client: ClientInfo): Promise<SecondStep> {
  if (!input.mfaTicket.startsWith(MFA_TICKET_PREFIX) || input.mfaTicket.length > 100) throw deadTicket();
  const key = TICKET_KEY + sha256(input.mfaTicket);
  const raw = await ctx.state.take(key);
  const now = ctx.now();
  if (!raw) throw deadTicket();
  const ticket = JSON.parse(raw) as Ticket;
  // A ticket is for the mode its first factor asked for: it cannot be turned into tokens for a cookie sign-in.
  if (ticket.expiresAt <= now || (input.mode !== undefined && input.mode !== ticket.mode)) throw deadTicket();
  const user = await ctx.users.findById(ticket.userId);
  if (!user) throw deadTicket();
  const putBack = (failures: number) => ctx.state.put(key, JSON.stringify({ ...ticket, failures }), ticket.expiresAt - now);
  try {
    await checkLoginAllowed(ctx, user.email, client.ip, input.deviceCookie);
  } catch (err) {
    await putBack(ticket.failures);
    throw err;
  }
  const proved = await proveSecondFactor(ctx, user, input.proof, client, { kind: 'mfa', ticketHash: sha256(input.mfaTicket), exceptFactorId: ticket.firstFactorId ?? null });
  if (!proved) {
    const failures = ticket.failures + 1;
    await recordLoginFailure(ctx, user.email, client.ip, input.deviceCookie);
    const method = 'code' in input.proof ? 'totp' : 'webauthn' in input.proof ? 'webauthn' : 'recovery_code';
    await recordEvent(ctx, 'mfa_failed', { userId: user.id, client, detail: { failures, method } });
    if (failures < MFA_TICKET_MAX_FAILURES) await putBack(failures);
    const last = failures < MFA_TICKET_MAX_FAILURES ? '' : ', and that was the last try: sign in again';
    if (method === 'webauthn') throw new AppError('invalid_webauthn_response', { message: `The passkey response is invalid or not for this sign-in${last}` });
    throw new AppError('invalid_mfa_code', { message: last ? `The code is wrong${last}` : 'The code is wrong' });
  }
  await recordLoginSuccess(ctx, user.email, input.deviceCookie);
  await recordEvent(ctx, 'mfa_verified', { userId: user.id, client, detail: { method: proved.join(' ') } });
  return { user, mode: ticket.mode, amr: [...new Set([...ticket.amr, ...proved, AMR.multiFactor])], detail: ticket.detail };
}
