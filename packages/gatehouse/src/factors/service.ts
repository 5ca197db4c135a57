// Second factors: enrolment (pending until proven with a code), listing, removal, recovery codes, and proving a
// factor at sign-in or step-up. Only a factor's successful use ever counts as authentication, never its
// registration (the Logto CVE-2026-55377 mistake).
import { auditEvent, recordEvent } from '../audit/service.ts';
import type { ClientInfo, Context, Stores } from '../context.ts';
import { UUID_PATTERN, uuidv7 } from '../crypto/random.ts';
import { Sealer } from '../crypto/seal.ts';
import { AppError, validationError } from '../errors.ts';
import { newRecoveryCodes, normalizeRecoveryCode, recoveryCodeHash } from '../methods/recovery-codes/codes.ts';
import { matchingStep, newTotpSecret, otpauthUrl } from '../methods/totp/totp.ts';
import { passkeyAmr, verifyAssertion } from '../methods/passkeys/relying-party.ts';
import { AMR } from '../sign-in/amr.ts';
import { removeWayIn } from '../sign-in/ways-in.ts';
import type { User } from '../users/store.ts';
import { factorAddedNotice, factorRemovedNotice, recoveryCodeUsedNotice, recoveryCodesRegeneratedNotice } from './notices.ts';
import type { Factor } from './store.ts';

export const MAX_FACTORS = 10;
/** An enrolment not confirmed within this long is abandoned (maintenance deletes it). */
export const PENDING_FACTOR_TTL_MS = 15 * 60_000;

const sealers = new WeakMap<Context, Sealer>();
function sealer(ctx: Context): Sealer {
  let found = sealers.get(ctx);
  if (!found) {
    found = new Sealer(ctx.config.secret, 'totp-secrets', 'a TOTP secret');
    sealers.set(ctx, found);
  }
  return found;
}

/** A proof of a second factor, as the API takes it; `webauthn` is an assertion (AuthenticationResponseJSON). */
export type SecondFactorProof = { code: string } | { recoveryCode: string } | { webauthn: WebAuthnAssertion };
export type WebAuthnAssertion = Parameters<typeof verifyAssertion>[1];

/**
 * What a passkey assertion must have been asked for: the second step of the ticket with this hash (and not by
 * the factor that was its first step), or the step-up of this session.
 */
export type ProofScope = { kind: 'mfa'; ticketHash: string; exceptFactorId: string | null } | { kind: 'reauth'; sessionId: string };

export interface FactorList {
  factors: Factor[];
  recoveryCodesLeft: number;
}

export async function listFactors(ctx: Context, userId: string): Promise<FactorList> {
  const all = await ctx.factors.listByUser(userId);
  return { factors: all.filter((f) => f.confirmedAt !== null), recoveryCodesLeft: await ctx.factors.countRecoveryCodes(userId) };
}

/** Whether the user has a confirmed second factor (an app or a passkey): what the policy and step-up ask. */
export async function hasSecondFactor(ctx: Context, userId: string): Promise<boolean> {
  return (await ctx.factors.countConfirmed(userId)) > 0;
}

/** How many confirmed second factors the user has. */
export async function countSecondFactors(ctx: Context, userId: string): Promise<number> {
  return ctx.factors.countConfirmed(userId);
}

export type SecondFactorMethod = 'totp' | 'webauthn' | 'recovery_code';
const METHOD_ORDER: readonly SecondFactorMethod[] = ['totp', 'webauthn', 'recovery_code'];

/** The methods a second step may use, for the challenge's `methods`; never the factor that was the first step. */
export async function availableMethods(ctx: Context, userId: string, exceptFactorId: string | null = null): Promise<SecondFactorMethod[]> {
  const { factors, recoveryCodesLeft } = await listFactors(ctx, userId);
  const methods = new Set<SecondFactorMethod>();
  for (const factor of factors) if (factor.id !== exceptFactorId) methods.add(factor.type);
  if (recoveryCodesLeft > 0) methods.add('recovery_code');
  return METHOD_ORDER.filter((m) => methods.has(m));
}

export function checkName(raw: string | undefined, fallback: string): string {
  const name = (raw ?? fallback).trim().replace(/\s+/g, ' ');
  if (name.length < 1 || name.length > 100) throw validationError([{ field: 'name', message: 'Name must be 1 to 100 characters' }]);
  return name;
}

export interface TotpEnrolment {
  factor: Factor;
  /** Base32, shown once for typing in by hand. */
  secret: string;
  otpauthUrl: string;
}

/** Starts a TOTP enrolment: a pending factor that counts for nothing until a code proves the app has it. */
export async function enrolTotp(ctx: Context, user: User, input: { name?: string }): Promise<TotpEnrolment> {
  const name = checkName(input.name, 'Authenticator app');
  const now = ctx.now();
  const existing = await ctx.factors.listByUser(user.id);
  if (existing.filter((f) => f.confirmedAt !== null || now - f.createdAt < PENDING_FACTOR_TTL_MS).length >= MAX_FACTORS) {
    throw new AppError('conflict', { message: `At most ${MAX_FACTORS} second factors per account; remove one first` });
  }
  const secret = newTotpSecret();
  const id = uuidv7(now);
  const factor: Factor = { id, userId: user.id, type: 'totp', name, secret: sealer(ctx).seal(secret, id), lastUsedStep: null, confirmedAt: null, createdAt: now, lastUsedAt: null };
  await ctx.factors.create(factor);
  ctx.log.info({ userId: user.id, factorId: id }, 'totp enrolment started');
  return { factor, secret, otpauthUrl: otpauthUrl(secret, ctx.config.brandName, user.email) };
}

export interface ConfirmedFactor {
  factor: Factor;
  /** With the account's first factor only: shown once. */
  recoveryCodes?: string[];
}

/** Confirms a pending TOTP factor with a code from the app; the account's first factor also gets recovery codes. */
export async function confirmTotp(ctx: Context, user: User, factorId: string, code: string, client: ClientInfo): Promise<ConfirmedFactor> {
  const now = ctx.now();
  const factor = UUID_PATTERN.test(factorId) ? await ctx.factors.find(factorId) : null;
  if (!factor || factor.userId !== user.id || factor.type !== 'totp' || factor.confirmedAt !== null || now - factor.createdAt >= PENDING_FACTOR_TTL_MS) {
    throw new AppError('not_found', { message: 'No pending authenticator enrolment with that id; start again' });
  }
  const step = matchingStep(sealer(ctx).open(factor.secret!, factor.id), code, now);
  if (step === null) throw new AppError('invalid_mfa_code', { message: 'The code is wrong or has expired; enter the current code from the app' });
  const codes = (await ctx.factors.countConfirmed(user.id)) === 0 ? newRecoveryCodes() : undefined;
  const confirmed = await ctx.transaction(async (tx) => {
    // The confirming code is used up like any other: it cannot sign in afterwards.
    if (!(await tx.factors.claimStep(factor.id, step, now)) || !(await tx.factors.confirm(factor.id, now))) {
      throw new AppError('invalid_mfa_code', { message: 'That code was already used; wait for the next one' });
    }
    if (codes) await tx.factors.replaceRecoveryCodes(user.id, codes.map((c) => recoveryCodeHash(ctx.config.secret, normalizeRecoveryCode(c)!)), now);
    await tx.audit.append(auditEvent(ctx, 'mfa_enrolled', { userId: user.id, client, detail: { factorId: factor.id, type: 'totp', recoveryCodes: codes ? codes.length : 0 } }));
    return { ...factor, confirmedAt: now, lastUsedStep: step, lastUsedAt: now };
  });
  ctx.metrics.event('mfa_enrolled');
  factorAddedNotice(ctx, user, factor.name);
  return { factor: confirmed, ...(codes ? { recoveryCodes: codes } : {}) };
}

/** Removes one of the user's factors; with the last one go the recovery codes, which only stand in for a factor. */
export async function removeFactor(ctx: Context, user: User, factorId: string, client: ClientInfo): Promise<void> {
  const factor = UUID_PATTERN.test(factorId) ? await ctx.factors.find(factorId) : null;
  if (!factor || factor.userId !== user.id) throw new AppError('not_found', { message: 'No second factor with that id' });
  const remove = async (tx: Stores) => {
    if (!(await tx.factors.delete(user.id, factorId))) throw new AppError('not_found', { message: 'No second factor with that id' });
    if ((await tx.factors.countConfirmed(user.id)) === 0) await tx.factors.replaceRecoveryCodes(user.id, [], ctx.now());
    await tx.audit.append(auditEvent(ctx, 'mfa_removed', { userId: user.id, client, detail: { factorId, type: factor.type } }));
  };
  // A passkey may be the account's last way in: then it stays (409), however it is removed.
  if (factor.type === 'webauthn') await removeWayIn(ctx, user.id, remove);
  else await ctx.transaction(remove);
  ctx.metrics.event('mfa_removed');
  if (factor.confirmedAt !== null) factorRemovedNotice(ctx, user, factor.name, 'you');
}

/** A new set of ten recovery codes; the old set stops working. Only for an account with a factor to stand in for. */
export async function regenerateRecoveryCodes(ctx: Context, user: User, client: ClientInfo): Promise<string[]> {
  if ((await ctx.factors.countConfirmed(user.id)) === 0) {
    throw new AppError('conflict', { message: 'Recovery codes stand in for a second factor: add one first' });
  }
  const codes = newRecoveryCodes();
  const now = ctx.now();
  await ctx.transaction(async (tx) => {
    await tx.factors.replaceRecoveryCodes(user.id, codes.map((c) => recoveryCodeHash(ctx.config.secret, normalizeRecoveryCode(c)!)), now);
    await tx.audit.append(auditEvent(ctx, 'recovery_codes_regenerated', { userId: user.id, client, detail: { count: codes.length } }));
  });
  ctx.metrics.event('recovery_codes_regenerated');
  recoveryCodesRegeneratedNotice(ctx, user);
  return codes;
}

/** Every factor and recovery code of a user, removed by an admin (or by a finished reset): audited, the user told. */
export async function removeAllFactors(ctx: Context, user: User, by: { actorId: string | null; client: ClientInfo | null; reason: string }, tx?: Stores): Promise<number> {
  const work = async (stores: Stores) => {
    const removed = await stores.factors.deleteAllOfUser(user.id);
    await stores.audit.append(auditEvent(ctx, 'mfa_removed', { userId: user.id, client: by.client, detail: { all: true, factors: removed, by: by.actorId, reason: by.reason } }));
    return removed;
  };
  const removed = tx ? await work(tx) : await ctx.transaction(work);
  ctx.metrics.event('mfa_removed');
  if (removed > 0) factorRemovedNotice(ctx, user, removed === 1 ? 'your second factor' : `all ${removed} of your second factors`, by.actorId ? 'admin' : 'you');
  return removed;
}

/**
 * Checks a second factor: a TOTP code of a confirmed factor (its time step accepted once, across instances), a
 * passkey assertion for a challenge issued for `scope` (its counter moved forward once), or an unused recovery
 * code. The RFC 8176 methods it proves, or null when it proves nothing.
 */
export async function proveSecondFactor(ctx: Context, user: User, proof: SecondFactorProof, client: ClientInfo | null, scope?: ProofScope): Promise<string[] | null> {
  const now = ctx.now();
  if ('webauthn' in proof) {
    if (!scope) return null;
    const result = await verifyAssertion(
      ctx,
      proof.webauthn,
      (ceremony, factor) =>
        factor.userId === user.id &&
        ceremony.kind === scope.kind &&
        ceremony.userId === user.id &&
        (scope.kind === 'mfa' ? ceremony.kind === 'mfa' && ceremony.ticket === scope.ticketHash && factor.id !== scope.exceptFactorId : ceremony.kind === 'reauth' && ceremony.sessionId === scope.sessionId),
      client,
    );
    // Without `mfa`: here the passkey is one factor, whatever else it also proved.
    return result.ok ? passkeyAmr(result.userVerified).filter((m) => m !== AMR.multiFactor) : null;
  }
  if ('code' in proof) {
    const factors = (await ctx.factors.listByUser(user.id)).filter((f) => f.type === 'totp' && f.confirmedAt !== null);
    for (const factor of factors) {
      const step = matchingStep(sealer(ctx).open(factor.secret!, factor.id), proof.code, now);
      // A step at or before the last accepted one is a replay (RFC 6238 §5.2): refused like a wrong code.
      if (step !== null && (await ctx.factors.claimStep(factor.id, step, now))) return [AMR.otp];
    }
    return null;
  }
  const normalized = normalizeRecoveryCode(proof.recoveryCode);
  if (normalized === null || !(await ctx.factors.useRecoveryCode(user.id, recoveryCodeHash(ctx.config.secret, normalized), now))) return null;
  const left = await ctx.factors.countRecoveryCodes(user.id);
  await recordEvent(ctx, 'recovery_code_used', { userId: user.id, client, detail: { left } });
  recoveryCodeUsedNotice(ctx, user, left);
  return [AMR.recoveryCode];
}
