// What the role and second-factor guards require of verified claims, shared by the Express and Fastify guards.
import { VerifyError } from './errors.ts';
import type { VerifiedClaims } from './verify-signed-token.ts';

/** The refusal for claims that do not pass, or null when they do. */
export type ClaimsRule = (claims: VerifiedClaims) => VerifyError | null;

export function roleRule(roles: readonly string[]): ClaimsRule {
  if (roles.length === 0) throw new TypeError('requireRole needs at least one role');
  const allowed = new Set(roles);
  return (claims) => (claims.role !== undefined && allowed.has(claims.role) ? null : new VerifyError('forbidden', { check: 'role' }));
}

// RFC 8176 §2: "mfa" says more than one authentication method was used; Gatehouse adds it whenever the
// session's sign-in passed a second factor (or a passkey with user verification).
export const mfaRule: ClaimsRule = (claims) => (claims.amr.includes('mfa') ? null : new VerifyError('mfa_required', { check: 'mfa' }));

/**
 * A client access token (createVerifier({ tokens: 'client' })) whose scope holds every one of `scopes`; else 403
 * forbidden with `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (RFC 6750 §3.1). A session
 * token has no scope and is refused too.
 */
export function scopeRule(scopes: readonly string[]): ClaimsRule {
  if (scopes.length === 0) throw new TypeError('requireScope needs at least one scope');
  for (const scope of scopes) if (typeof scope !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) throw new TypeError(`requireScope: "${String(scope)}" is not a scope value (RFC 6749 §3.3)`);
  const needed = [...scopes];
  return (claims) => {
    const granted = new Set(claims.scopes ?? []);
    return needed.every((scope) => granted.has(scope)) ? null : new VerifyError('forbidden', { check: 'scope', message: 'The token lacks a required scope', scope: needed.join(' ') });
  };
}
