// Verifying WebAuthn responses with @simplewebauthn/server, against our relying party (RP id and origins from
// the config) and a challenge taken from the shared state. One function checks an assertion for every use of a
// passkey (first factor, second step, step-up); the callers decide what a refusal means for them.
import { verifyAuthenticationResponse, type AuthenticationResponseJSON } from '@simplewebauthn/server';
import { recordEvent } from '../../audit/service.ts';
import type { ClientInfo, Context } from '../../context.ts';
import { deriveKey, hmac } from '../../crypto/random.ts';
import { AppError } from '../../errors.ts';
import type { Factor, PasskeyCredential } from '../../factors/store.ts';
import { AMR } from '../../sign-in/amr.ts';
import { takeChallenge, type Ceremony } from './challenges.ts';

export const KNOWN_TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);

export const invalidResponse = (message = 'The passkey response is invalid, expired or not for this request: try again') => new AppError('invalid_webauthn_response', { message });

const handleKeys = new WeakMap<Context, Buffer>();
/**
 * The WebAuthn user handle of an account: an HMAC of its id under a server key, so the authenticator holds
 * neither the e-mail nor the id (whose UUIDv7 carries the account's creation time).
 */
export function userHandle(ctx: Context, userId: string): string {
  let key = handleKeys.get(ctx);
  if (!key) {
    key = deriveKey(ctx.config.secret, 'webauthn-user-handle');
    handleKeys.set(ctx, key);
  }
  return hmac(key, userId);
}

/** The RFC 8176 methods a passkey use proves: `hwk`, and `user` (with `mfa`: two factors in one) when the authenticator verified the user. */
export function passkeyAmr(userVerified: boolean): string[] {
  return userVerified ? [AMR.hardwareKey, AMR.userPresence, AMR.multiFactor] : [AMR.hardwareKey];
}

export type AssertionResult =
  | { ok: true; factor: Factor & { webauthn: PasskeyCredential }; userVerified: boolean; ceremony: Ceremony }
  | { ok: false; reason: 'invalid' | 'counter_regressed'; factor: Factor | null };

/**
 * Checks a WebAuthn assertion: its challenge (taken, so it works once) was issued for a ceremony `accepts`
 * agrees with, the credential is a registered passkey `accepts` agrees with too, the user handle (when sent)
 * is its owner's, the origin, RP id hash, flags and signature verify, and the signature counter went forward.
 * On success the new counter is stored in the same conditional statement that checks it. A counter that went
 * backwards on a correctly signed assertion means a cloned authenticator: audited as `counter_regressed`.
 */
export async function verifyAssertion(
  ctx: Context,
  response: AuthenticationResponseJSON,
  accepts: (ceremony: Ceremony, factor: Factor) => boolean,
  client: ClientInfo | null,
): Promise<AssertionResult> {
  const refused = (factor: Factor | null = null): AssertionResult => ({ ok: false, reason: 'invalid', factor });
  const taken = await takeChallenge(ctx, response.response?.clientDataJSON, () => true);
  if (!taken || typeof response.id !== 'string') return refused();
  const factor = await ctx.factors.findByCredentialId(response.id);
  if (!factor?.webauthn || factor.confirmedAt === null || !accepts(taken.ceremony, factor)) return refused(factor);
  const passkey = factor.webauthn;
  if (response.response.userHandle && response.response.userHandle !== userHandle(ctx, factor.userId)) return refused(factor);

  let info;
  try {
    const verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: taken.challenge,
      expectedOrigin: [...ctx.config.webauthn.origins],
      expectedRPID: ctx.config.webauthn.rpId,
      expectedType: 'webauthn.get',
      // Stored counter 0 here: the library would refuse a backwards counter before checking the signature,
      // and only a correctly signed assertion with one is evidence of a clone (checked below).
      credential: { id: passkey.credentialId, publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')), counter: 0, transports: passkey.transports },
      requireUserVerification: false,
    });
    if (!verification.verified) return refused(factor);
    info = verification.authenticationInfo;
  } catch {
    return refused(factor);
  }
  const counter = info.newCounter;
  const forward = (counter === 0 && passkey.counter === 0) || counter > passkey.counter;
  if (!forward || !(await ctx.factors.updateCounter(factor.id, counter, info.credentialBackedUp, ctx.now()))) {
    await recordEvent(ctx, 'login_failed', {
      userId: factor.userId,
      client,
      detail: { reason: 'counter_regressed', factorId: factor.id, stored: passkey.counter, presented: counter },
    });
    ctx.log.warn({ userId: factor.userId, factorId: factor.id }, 'passkey signature counter went backwards: a cloned authenticator?');
    return { ok: false, reason: 'counter_regressed', factor };
  }
  return { ok: true, factor: { ...factor, webauthn: { ...passkey, counter, backedUp: info.credentialBackedUp } }, userVerified: info.userVerified, ceremony: taken.ceremony };
}
