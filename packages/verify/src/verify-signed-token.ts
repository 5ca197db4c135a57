// Checks one Gatehouse access token (RFC 7519, RFC 9068): the JWS layer (./verify-jws-signature.ts) with
// typ pinned to at+jwt, then the claims, with iss and aud pinned. Used by createVerifier and by the Gatehouse
// server itself, each with its own key lookup.
import { decodeJsonObject } from './compact-jws.ts';
import { VerifyError, type VerifyCheck } from './errors.ts';
import { verifyJwsSignature, type SignatureRules } from './verify-jws-signature.ts';

/** The claims of a Gatehouse access token. */
export interface AccessTokenClaims {
  /** The issuer: Gatehouse's PUBLIC_URL. */
  readonly iss: string;
  /** The audience: Gatehouse's JWT_AUDIENCE (a string, or an array that contains the expected one). */
  readonly aud: string | readonly string[];
  /** The user id. */
  readonly sub: string;
  /** The session id: the unit of revocation. */
  readonly sid: string;
  readonly role: string;
  readonly jti: string;
  /** How the session was signed in (RFC 8176 values: "pwd", "otp", "hwk", "mfa"...); [] when the token has none. */
  readonly amr: readonly string[];
  /** Seconds since the epoch. */
  readonly iat: number;
  /** Seconds since the epoch. */
  readonly exp: number;
  readonly nbf?: number;
}

export interface ClaimRules {
  issuer: string;
  audiences: readonly string[];
  clockToleranceSec: number;
}

export type TokenRules = SignatureRules & ClaimRules;

// NumericDate claims are whole seconds, floored by the signer: a verifier whose clock is a few milliseconds
// behind the signer's can see iat one second ahead, so a future iat gets one second more than the tolerance.
const IAT_GRANULARITY_SEC = 1;

const refuse = (check: VerifyCheck, message: string) => new VerifyError('invalid_token', { check, message });

export async function verifySignedToken(token: string, rules: TokenRules, nowMs: number): Promise<AccessTokenClaims> {
  const { payload } = await verifyJwsSignature(token, rules, checkAccessTokenType);
  return checkClaims(decodeJsonObject(payload), rules, nowMs);
}

// RFC 9068 §4: "at+jwt"; RFC 7515 §4.1.9 lets the "application/" prefix be present and compares case-insensitively.
function checkAccessTokenType(header: Record<string, unknown>): void {
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : null;
  if (typ !== 'at+jwt' && typ !== 'application/at+jwt') throw refuse('typ', 'The token is not an access token (typ must be at+jwt)');
}

export function checkClaims(payload: Record<string, unknown>, rules: ClaimRules, nowMs: number): AccessTokenClaims {
  const { iss, aud, sub, sid, role, jti, iat, exp, nbf } = payload;
  if (iss !== rules.issuer) throw refuse('iss', 'The token was issued by another issuer');
  if (!audienceMatches(aud, rules.audiences)) throw refuse('aud', 'The token is meant for another audience');
  if (!isString(sub) || !isString(sid) || !isString(role) || !isString(jti) || !isTime(iat) || !isTime(exp)) {
    throw refuse('claims', 'The token lacks a required claim');
  }
  const amr = payload.amr === undefined ? [] : payload.amr;
  if (!Array.isArray(amr) || !amr.every(isString)) throw refuse('claims', 'The token has a malformed amr claim');
  if (nbf !== undefined && !isTime(nbf)) throw refuse('claims', 'The token has a malformed nbf claim');
  const now = nowMs / 1000;
  const tolerance = rules.clockToleranceSec;
  if (nbf !== undefined && nbf > now + tolerance) throw refuse('nbf', 'The token is not valid yet');
  if (iat > now + tolerance + IAT_GRANULARITY_SEC) throw refuse('iat', 'The token was issued in the future');
  if (exp <= now - tolerance) throw new VerifyError('token_expired', { check: 'exp' });
  return Object.freeze({
    iss,
    aud: aud as string | readonly string[],
    sub,
    sid,
    role,
    jti,
    amr: Object.freeze([...(amr as string[])]),
    iat,
    exp,
    ...(nbf === undefined ? {} : { nbf }),
  });
}

/** True when the cached or fresh claims are past their exp (with the tolerance). */
export function isExpired(claims: AccessTokenClaims, nowMs: number, toleranceSec: number): boolean {
  return claims.exp <= nowMs / 1000 - toleranceSec;
}

function audienceMatches(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  return Array.isArray(aud) && aud.some((a) => typeof a === 'string' && accepted.includes(a));
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
