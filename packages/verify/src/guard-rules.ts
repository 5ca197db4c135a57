// What the role and second-factor guards require of verified claims, shared by the Express and Fastify guards.
import { VerifyError } from './errors.ts';
import type { AccessTokenClaims } from './verify-signed-token.ts';

/** The refusal for claims that do not pass, or null when they do. */
export type ClaimsRule = (claims: AccessTokenClaims) => VerifyError | null;

export function roleRule(roles: readonly string[]): ClaimsRule {
  if (roles.length === 0) throw new TypeError('requireRole needs at least one role');
  const allowed = new Set(roles);
  return (claims) => (allowed.has(claims.role) ? null : new VerifyError('forbidden', { check: 'role' }));
}

// RFC 8176 §2: "mfa" says more than one authentication method was used; Gatehouse adds it whenever the
// session's sign-in passed a second factor (or a passkey with user verification).
export const mfaRule: ClaimsRule = (claims) => (claims.amr.includes('mfa') ? null : new VerifyError('mfa_required', { check: 'mfa' }));
