// TOTP (RFC 6238) as the contract fixes it: SHA-1, 6 digits, 30-second steps, one step of drift either way.
// otpauth computes the codes; what is ours is the replay rule (a step is accepted once) and the storage.
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_S = 30;
export const TOTP_DIGITS = 6;
/** RFC 6238 §5.2: allow one step of clock drift either way. */
export const TOTP_WINDOW = 1;
const CODE = /^\d{6}$/;

function totp(secretBase32: string, issuer = 'Gatehouse', label = 'account'): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_S, secret: Secret.fromBase32(secretBase32) });
}

/** A new shared secret: 160 bits (RFC 4226 §4 recommends it for HMAC-SHA-1), base32 as authenticator apps take it. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The `otpauth://` URL an authenticator app scans; the issuer and label say which account it is. */
export function otpauthUrl(secretBase32: string, issuer: string, label: string): string {
  return totp(secretBase32, issuer, label).toString();
}

/**
 * The time step (RFC 6238 T) that `code` belongs to at `now`, within the drift window; null when it matches
 * none. The caller accepts the step only once per factor.
 */
export function matchingStep(secretBase32: string, code: string, now: number): number | null {
  const token = code.replace(/\s+/g, '');
  if (!CODE.test(token)) return null;
  const delta = totp(secretBase32).validate({ token, timestamp: now, window: TOTP_WINDOW });
  if (delta === null) return null;
  return Math.floor(now / 1000 / TOTP_PERIOD_S) + delta;
}

/** The code for `now` (tests, and the enrolment page's self-check). */
export function codeAt(secretBase32: string, now: number): string {
  return totp(secretBase32).generate({ timestamp: now });
}
