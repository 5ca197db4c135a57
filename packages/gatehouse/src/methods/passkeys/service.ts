// Passkeys (WebAuthn): registration behind a recent sign-in, management, and sign-in with one. A passkey is a
// factor of type `webauthn`. Verified with user verification (PIN, biometrics) it is two factors in one and
// signs in alone (amr hwk user mfa); without, it is a possession factor: a second step, or a first step that
// still needs a second, which must then be another factor than this passkey (the challenge does not offer it).
import { generateAuthenticationOptions, generateRegistrationOptions, verifyRegistrationResponse, type AuthenticationResponseJSON, type RegistrationResponseJSON } from '@simplewebauthn/server';
import { auditEvent, recordEvent } from '../../audit/service.ts';
import type { ClientInfo, Context } from '../../context.ts';
import { deriveKey, hmac, UUID_PATTERN, uuidv7 } from '../../crypto/random.ts';
import { AppError } from '../../errors.ts';
import { cancelMfaReset } from '../../factors/reset.ts';
import { checkName, MAX_FACTORS, PENDING_FACTOR_TTL_MS, removeFactor } from '../../factors/service.ts';
import { factorAddedNotice } from '../../factors/notices.ts';
import type { Factor, PasskeyCredential } from '../../factors/store.ts';
import { isUniqueViolation } from '../../db/connect.ts';
import { newRecoveryCodes, normalizeRecoveryCode, recoveryCodeHash } from '../recovery-codes/codes.ts';
import type { LoginMode } from '../../sessions/store.ts';
import { completeSignIn, type SignInResult } from '../../sign-in/complete-sign-in.ts';
import { peekMfaTicket } from '../../sign-in/mfa-challenge.ts';
import { normalizeEmail } from '../../users/policy.ts';
import type { User } from '../../users/store.ts';
import { CHALLENGE_TTL_MS, issueChallenge, takeChallenge } from './challenges.ts';
import { invalidResponse, KNOWN_TRANSPORTS, passkeyAmr, userHandle, verifyAssertion } from './relying-party.ts';

export type CreationOptions = Awaited<ReturnType<typeof generateRegistrationOptions>>;
export type RequestOptions = Awaited<ReturnType<typeof generateAuthenticationOptions>>;

const passkeysOf = (factors: Factor[]) => factors.filter((f): f is Factor & { webauthn: PasskeyCredential } => f.type === 'webauthn' && f.confirmedAt !== null && !!f.webauthn);
const descriptor = (passkey: PasskeyCredential) => ({ id: passkey.credentialId, transports: passkey.transports as never[] });

/** The user's passkeys, oldest first. */
export async function listPasskeys(ctx: Context, userId: string): Promise<Factor[]> {
  return passkeysOf(await ctx.factors.listByUser(userId));
}

async function assertRoomForFactor(ctx: Context, userId: string): Promise<Factor[]> {
  const now = ctx.now();
  const existing = await ctx.factors.listByUser(userId);
  if (existing.filter((f) => f.confirmedAt !== null || now - f.createdAt < PENDING_FACTOR_TTL_MS).length >= MAX_FACTORS) {
    throw new AppError('conflict', { message: `At most ${MAX_FACTORS} second factors (passkeys included) per account; remove one first` });
  }
  return existing;
}

/** Creation options for a new passkey of the signed-in user; the challenge is bound to this user and session. */
export async function registrationOptions(ctx: Context, user: User, sessionId: string): Promise<CreationOptions> {
  const existing = await assertRoomForFactor(ctx, user.id);
  const challenge = await issueChallenge(ctx, { kind: 'register', userId: user.id, sessionId });
  return generateRegistrationOptions({
    rpName: ctx.config.brandName,
    rpID: ctx.config.webauthn.rpId,
    userName: user.email,
    userDisplayName: user.name,
    userID: new Uint8Array(Buffer.from(userHandle(ctx, user.id), 'base64url')),
    challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
    timeout: CHALLENGE_TTL_MS,
    attestationType: ctx.config.webauthn.attestation,
    excludeCredentials: passkeysOf(existing).map((f) => descriptor(f.webauthn)),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
}

export interface RegisteredPasskey {
  factor: Factor;
  /** With the account's first factor only, as for an authenticator app: shown once. */
  recoveryCodes?: string[];
}

/**
 * Registers the passkey an authenticator made for a challenge of this user and session. Registration proves
 * the authenticator holds the key; it does not count as a sign-in (the session's auth time is not renewed).
 */
export async function registerPasskey(
  ctx: Context,
  user: User,
  sessionId: string,
  input: { response: RegistrationResponseJSON; name?: string },
  client: ClientInfo,
): Promise<RegisteredPasskey> {
  const name = checkName(input.name, 'Passkey');
  const taken = await takeChallenge(ctx, input.response.response?.clientDataJSON, (c) => c.kind === 'register' && c.userId === user.id && c.sessionId === sessionId);
  if (!taken) throw invalidResponse();
  let info;
  try {
    const verification = await verifyRegistrationResponse({
      response: input.response,
      expectedChallenge: taken.challenge,
      expectedOrigin: [...ctx.config.webauthn.origins],
      expectedRPID: ctx.config.webauthn.rpId,
      expectedType: 'webauthn.create',
      requireUserPresence: true,
      requireUserVerification: false,
    });
    if (!verification.verified) throw invalidResponse();
    info = verification.registrationInfo;
  } catch {
    throw invalidResponse();
  }
  await assertRoomForFactor(ctx, user.id);
  const now = ctx.now();
  const rk = (input.response.clientExtensionResults as { credProps?: { rk?: unknown } } | undefined)?.credProps?.rk;
  const factor: Factor & { webauthn: PasskeyCredential } = {
    id: uuidv7(now),
    userId: user.id,
    type: 'webauthn',
    name,
    secret: null,
    lastUsedStep: null,
    confirmedAt: now,
    createdAt: now,
    lastUsedAt: null,
    webauthn: {
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: [...new Set(info.credential.transports ?? [])].filter((t) => KNOWN_TRANSPORTS.has(t)),
      userVerified: info.userVerified,
      discoverable: typeof rk === 'boolean' ? rk : null,
      backupEligible: info.credentialDeviceType === 'multiDevice',
      backedUp: info.credentialBackedUp,
      aaguid: info.aaguid,
    },
  };
  const codes = (await ctx.factors.countConfirmed(user.id)) === 0 ? newRecoveryCodes() : undefined;
  try {
    await ctx.transaction(async (tx) => {
      await tx.factors.create(factor);
      if (codes) await tx.factors.replaceRecoveryCodes(user.id, codes.map((c) => recoveryCodeHash(ctx.config.secret, normalizeRecoveryCode(c)!)), now);
      await tx.audit.append(
        auditEvent(ctx, 'mfa_enrolled', { userId: user.id, client, detail: { factorId: factor.id, type: 'webauthn', userVerified: factor.webauthn.userVerified, aaguid: factor.webauthn.aaguid, recoveryCodes: codes ? codes.length : 0 } }),
      );
    });
  } catch (err) {
    // The credential id is unique: this passkey is registered already (here or, impossibly, to someone else).
    if (isUniqueViolation(err)) throw new AppError('conflict', { message: 'This passkey is registered already' });
    throw err;
  }
  ctx.metrics.event('mfa_enrolled');
  factorAddedNotice(ctx, user, name);
  return { factor, ...(codes ? { recoveryCodes: codes } : {}) };
}

function ownPasskey(factor: Factor | null, userId: string): factor is Factor {
  return factor !== null && factor.userId === userId && factor.type === 'webauthn';
}

export async function renamePasskey(ctx: Context, user: User, id: string, rawName: string): Promise<Factor> {
  const name = checkName(rawName, '');
  const factor = UUID_PATTERN.test(id) ? await ctx.factors.find(id) : null;
  if (!ownPasskey(factor, user.id) || !(await ctx.factors.rename(user.id, id, name))) throw new AppError('not_found', { message: 'No passkey with that id' });
  return { ...factor, name };
}

/** Removes a passkey (audited, the owner told); 409 when it is the account's last way in. */
export async function removePasskey(ctx: Context, user: User, id: string, client: ClientInfo): Promise<void> {
  const factor = UUID_PATTERN.test(id) ? await ctx.factors.find(id) : null;
  if (!ownPasskey(factor, user.id)) throw new AppError('not_found', { message: 'No passkey with that id' });
  await removeFactor(ctx, user, id, client);
}

const decoyKeys = new WeakMap<Context, Buffer>();
/**
 * For an address with no passkey (no account, or an account without one): credentials that look like a real
 * account's, the same every time for that address, so the answer does not tell whether the account exists.
 */
function decoyCredentials(ctx: Context, email: string): Array<{ id: string; transports: never[] }> {
  let key = decoyKeys.get(ctx);
  if (!key) {
    key = deriveKey(ctx.config.secret, 'webauthn-decoy-credentials');
    decoyKeys.set(ctx, key);
  }
  const seed = Buffer.from(hmac(key, `${email}\n`), 'base64url');
  const count = 1 + (seed[0]! % 2);
  const transportSets = [['internal', 'hybrid'], ['hybrid', 'internal'], ['usb'], ['nfc', 'usb'], ['internal']];
  return Array.from({ length: count }, (_, i) => ({
    // Platform passkeys' ids are 16 to 32 bytes; 32 is the common length.
    id: Buffer.from(hmac(key, `${email}\n${i}`), 'base64url').toString('base64url'),
    transports: transportSets[seed[i + 1]! % transportSets.length] as never[],
  }));
}

/**
 * Request options for a first-factor sign-in. Without an e-mail: discoverable credentials (usernameless; the
 * browser offers the passkeys it has for this site). With one: that account's passkeys, or for an address with
 * none decoys of the same shape, so the answer looks the same whether or not the account exists.
 */
export async function loginOptions(ctx: Context, rawEmail: string | undefined): Promise<RequestOptions> {
  let allowCredentials: Array<{ id: string; transports: never[] }> = [];
  let boundTo: string | null | undefined;
  if (rawEmail !== undefined) {
    const email = normalizeEmail(rawEmail);
    const user = await ctx.users.findByEmail(email);
    const passkeys = passkeysOf(await ctx.factors.listByUser(user?.id ?? '00000000-0000-7000-8000-000000000000'));
    boundTo = passkeys.length ? user!.id : null;
    allowCredentials = passkeys.length ? passkeys.map((f) => descriptor(f.webauthn)) : decoyCredentials(ctx, email);
  }
  const challenge = await issueChallenge(ctx, { kind: 'login', ...(boundTo === undefined ? {} : { userId: boundTo }) });
  return generateAuthenticationOptions({
    rpID: ctx.config.webauthn.rpId,
    challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
    timeout: CHALLENGE_TTL_MS,
    allowCredentials,
    userVerification: 'preferred',
  });
}

/** Request options for the second step of an MFA ticket: the ticket user's passkeys, but not the one that was its first step. */
export async function secondStepOptions(ctx: Context, mfaTicket: string): Promise<RequestOptions> {
  const ticket = await peekMfaTicket(ctx, mfaTicket);
  const passkeys = passkeysOf(await ctx.factors.listByUser(ticket.userId)).filter((f) => f.id !== ticket.firstFactorId);
  if (!passkeys.length) throw new AppError('not_found', { message: 'No passkey can be used for this sign-in: use another of the methods offered' });
  const challenge = await issueChallenge(ctx, { kind: 'mfa', userId: ticket.userId, ticket: ticket.ticketHash });
  return generateAuthenticationOptions({
    rpID: ctx.config.webauthn.rpId,
    challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
    timeout: CHALLENGE_TTL_MS,
    allowCredentials: passkeys.map((f) => descriptor(f.webauthn)),
    userVerification: 'preferred',
  });
}

/** Request options to confirm it is you (step-up) with a passkey of the signed-in user. */
export async function reauthOptions(ctx: Context, caller: { userId: string; sessionId: string }): Promise<RequestOptions> {
  const passkeys = await listPasskeys(ctx, caller.userId);
  if (!passkeys.length) throw new AppError('not_found', { message: 'This account has no passkey: confirm with your password or a code' });
  const challenge = await issueChallenge(ctx, { kind: 'reauth', userId: caller.userId, sessionId: caller.sessionId });
  return generateAuthenticationOptions({
    rpID: ctx.config.webauthn.rpId,
    challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
    timeout: CHALLENGE_TTL_MS,
    allowCredentials: passkeysOf(passkeys).map((f) => descriptor(f.webauthn)),
    userVerification: 'preferred',
  });
}

/**
 * Signs in with a passkey, for a challenge from loginOptions. With user verification: two factors, signed in.
 * Without: a first factor, so an account with a second factor (and every account with a passkey has one: the
 * passkey) gets the MFA challenge, whose methods then leave this passkey out.
 */
export async function signInWithPasskey(ctx: Context, response: AuthenticationResponseJSON, mode: LoginMode, client: ClientInfo): Promise<SignInResult> {
  const result = await verifyAssertion(ctx, response, (ceremony, factor) => ceremony.kind === 'login' && (ceremony.userId === undefined || ceremony.userId === factor.userId), client);
  if (!result.ok) {
    if (result.factor && result.reason === 'invalid') {
      await recordEvent(ctx, 'login_failed', { userId: result.factor.userId, client, detail: { reason: 'invalid_webauthn_response', factorId: result.factor.id } });
    }
    throw invalidResponse();
  }
  const user = await ctx.users.findById(result.factor.userId);
  if (!user) throw invalidResponse();
  const amr = passkeyAmr(result.userVerified);
  const signedIn = await completeSignIn(ctx, { user, amr, mode, client, detail: { method: 'passkey', factorId: result.factor.id }, firstFactorId: result.factor.id });
  // A sign-in that passed a factor shows the factors are not lost: a pending reset by e-mail is cancelled.
  if (signedIn.kind === 'signed_in') await cancelMfaReset(ctx, user, client);
  return signedIn;
}
