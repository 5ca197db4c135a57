// Checks one compact JWS access token (RFC 7515, RFC 7519, RFC 9068): header, signature, then claims.
// Nothing in the token chooses how it is checked: the algorithm must be on our list, the key comes from our
// own key set, and iss, aud and typ are pinned.
import { ASYMMETRIC, isAsymmetric, verifyHs256, type Algorithm } from './algorithms.ts';
import { VerifyError } from './errors.ts';
import type { KeySet } from './key-set.ts';

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
  /** Seconds since the epoch. */
  readonly iat: number;
  /** Seconds since the epoch. */
  readonly exp: number;
  readonly nbf?: number;
}

export interface TokenRules {
  issuer: string;
  audiences: readonly string[];
  algorithms: ReadonlySet<Algorithm>;
  clockToleranceSec: number;
  /** The HS256 secret; only when HS256 is allowed. */
  secret: Buffer | null;
  keys: KeySet;
}

// A Gatehouse access token is well under 1 KiB; refuse huge input before decoding it.
export const MAX_TOKEN_LENGTH = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_KID_LENGTH = 256;

const invalid = (message: string) => new VerifyError('invalid_token', { message });

export async function verifySignedToken(token: string, rules: TokenRules, nowMs: number): Promise<AccessTokenClaims> {
  // An empty signature (alg "none", RFC 7519 §6) never matches this.
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw invalid('The access token is malformed');
  const headerEnd = token.indexOf('.');
  const payloadEnd = token.indexOf('.', headerEnd + 1);
  const header = decodeJson(token.slice(0, headerEnd));

  const alg = header.alg;
  if (typeof alg !== 'string' || !rules.algorithms.has(alg as Algorithm)) throw invalid('The token is signed with an algorithm that is not accepted');
  if (!isAccessTokenType(header.typ)) throw invalid('The token is not an access token (typ must be at+jwt)');
  // RFC 7515 §4.1.11: we understand no extension, so a token that requires one is refused.
  if (header.crit !== undefined) throw invalid('The token requires an unsupported extension');

  const signingInput = Buffer.from(token.slice(0, payloadEnd), 'ascii');
  const signature = Buffer.from(token.slice(payloadEnd + 1), 'base64url');
  if (!(await signatureMatches(alg as Algorithm, header.kid, signingInput, signature, rules))) {
    throw invalid('The access token signature is not valid');
  }
  return checkClaims(decodeJson(token.slice(headerEnd + 1, payloadEnd)), rules, nowMs);
}

async function signatureMatches(alg: Algorithm, kid: unknown, data: Buffer, signature: Buffer, rules: TokenRules): Promise<boolean> {
  if (alg === 'HS256') return rules.secret !== null && verifyHs256(data, signature, rules.secret);
  if (!isAsymmetric(alg)) return false;
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) throw invalid('The token names no usable key (kid)');
  const key = await rules.keys.find(kid, alg);
  if (!key) throw invalid('The token is signed with an unknown key');
  try {
    return ASYMMETRIC[alg].verify(data, signature, key);
  } catch {
    // A malformed signature makes OpenSSL throw rather than answer false.
    return false;
  }
}

function checkClaims(payload: Record<string, unknown>, rules: TokenRules, nowMs: number): AccessTokenClaims {
  const { iss, aud, sub, sid, role, jti, iat, exp, nbf } = payload;
  if (iss !== rules.issuer) throw invalid('The token was issued by another issuer');
  if (!audienceMatches(aud, rules.audiences)) throw invalid('The token is meant for another audience');
  if (!isString(sub) || !isString(sid) || !isString(role) || !isString(jti) || !isTime(iat) || !isTime(exp)) {
    throw invalid('The token lacks a required claim');
  }
  if (nbf !== undefined && !isTime(nbf)) throw invalid('The token has a malformed nbf claim');
  const now = nowMs / 1000;
  const tolerance = rules.clockToleranceSec;
  if (nbf !== undefined && nbf > now + tolerance) throw invalid('The token is not valid yet');
  if (iat > now + tolerance) throw invalid('The token was issued in the future');
  if (exp <= now - tolerance) throw new VerifyError('token_expired');
  return Object.freeze({ iss, aud: aud as string | readonly string[], sub, sid, role, jti, iat, exp, ...(nbf === undefined ? {} : { nbf }) });
}

/** True when the cached or fresh claims are past their exp (with the tolerance). */
export function isExpired(claims: AccessTokenClaims, nowMs: number, toleranceSec: number): boolean {
  return claims.exp <= nowMs / 1000 - toleranceSec;
}

// RFC 9068 §4: "at+jwt"; RFC 7515 §4.1.9 lets the "application/" prefix be present and compares case-insensitively.
function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const lower = typ.toLowerCase();
  return lower === 'at+jwt' || lower === 'application/at+jwt';
}

function audienceMatches(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  return Array.isArray(aud) && aud.some((a) => typeof a === 'string' && accepted.includes(a));
}

function decodeJson(part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw invalid('The access token is malformed');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('The access token is malformed');
  return value as Record<string, unknown>;
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
