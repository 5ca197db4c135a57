// Authentication context class references (OpenID Connect Core §2 `acr`), derived from the session's amr:
// what was completed, never what is enrolled. A client asks for a second factor with acr_values=mfa (or the URN).
import { AMR } from '../sign-in/amr.ts';

export const ACR = {
  /** One factor (a password, a social sign-in, a magic link). */
  oneFactor: 'urn:gatehouse:acr:1fa',
  /** Two factors (RFC 8176 `mfa` in the session's amr). */
  multiFactor: 'urn:gatehouse:acr:mfa',
} as const;

/** What acr_values may carry to ask for a second factor. */
const MFA_VALUES = new Set([ACR.multiFactor, 'mfa']);

export const ACR_VALUES_SUPPORTED = [ACR.oneFactor, ACR.multiFactor, 'mfa'];

export function acrOf(amr: readonly string[]): string {
  return amr.includes(AMR.multiFactor) ? ACR.multiFactor : ACR.oneFactor;
}

/** Does this authorization request's acr_values ask for a second factor? */
export function asksForMfa(acrValues: unknown): boolean {
  return typeof acrValues === 'string' && acrValues.split(' ').some((value) => MFA_VALUES.has(value as typeof ACR.multiFactor));
}
