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
  /** Only client access tokens (ClientAccessTokenClaims) have these. */
  readonly client_id?: undefined;
  readonly scope?: undefined;
  readonly scopes?: undefined;
}

/**
 * The claims of an access token the OpenID provider issued to a client (RFC 9068): for an API named by the
 * client's `resource` (RFC 8707), or the issuer. No session and no role: the client acts for `sub` (a user,
 * or the client itself under client_credentials) within `scope`.
 */
export interface ClientAccessTokenClaims {
  readonly iss: string;
  /** The resource (API) the token was issued for. */
  readonly aud: string | readonly string[];
  /** The user the client acts for, or the client id under client_credentials. */
  readonly sub: string;
  readonly client_id: string;
  /** Space-separated scopes granted for this API ('' when none). */
  readonly scope: string;
  readonly scopes: readonly string[];
  readonly jti: string;
  readonly amr: readonly string[];
  readonly iat: number;
  readonly exp: number;
  readonly nbf?: number;
  readonly sid?: undefined;
  readonly role?: undefined;
}

/** What a guard may find on a request: a Gatehouse session's token or a client's. */
export type VerifiedClaims = AccessTokenClaims | ClientAccessTokenClaims;

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
  // A client's access token (the OpenID provider's, with client_id) never stands for a Gatehouse session.
  if (payload.client_id !== undefined) throw refuse('claims', 'The token was issued to a client, not to a Gatehouse session');
  if (!isString(sub) || !isString(sid) || !isString(role) || !isString(jti) || !isTime(iat) || !isTime(exp)) {
    throw refuse('claims', 'The token lacks a required claim');
  }
  const amr = payload.amr === undefined ? [] : payload.amr;
  if (!Array.isArray(amr) || !amr.every(isString)) throw refuse('claims', 'The token has a malformed amr claim');
  checkTimes(nbf, iat, exp, rules, nowMs);
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
    ...(nbf === undefined ? {} : { nbf: nbf as number }),
  });
}

/** A client access token (RFC 9068 as oidc-provider issues it): client_id and scope, no sid or role required. */
export async function verifySignedClientToken(token: string, rules: TokenRules, nowMs: number): Promise<ClientAccessTokenClaims> {
  const { payload } = await verifyJwsSignature(token, rules, checkAccessTokenType);
  return checkClientClaims(decodeJsonObject(payload), rules, nowMs);
}

export function checkClientClaims(payload: Record<string, unknown>, rules: ClaimRules, nowMs: number): ClientAccessTokenClaims {
  const { iss, aud, sub, client_id: clientId, jti, iat, exp, nbf } = payload;
  if (iss !== rules.issuer) throw refuse('iss', 'The token was issued by another issuer');
  if (!audienceMatches(aud, rules.audiences)) throw refuse('aud', 'The token is meant for another audience');
  // Gatehouse's own session tokens have no client_id: they are not for this API's clients' mode.
  if (!isString(clientId)) throw refuse('claims', 'The token was not issued to a client');
  if (!isString(sub) || !isString(jti) || !isTime(iat) || !isTime(exp)) throw refuse('claims', 'The token lacks a required claim');
  const scope = payload.scope === undefined ? '' : payload.scope;
  if (typeof scope !== 'string') throw refuse('claims', 'The token has a malformed scope claim');
  checkTimes(nbf, iat, exp, rules, nowMs);
  return Object.freeze({
    iss: iss as string,
    aud: aud as string | readonly string[],
    sub,
    client_id: clientId,
    scope,
    scopes: Object.freeze(scope.split(' ').filter(Boolean)),
    jti,
    amr: Object.freeze([] as string[]),
    iat,
    exp,
    ...(nbf === undefined ? {} : { nbf: nbf as number }),
  });
}

function checkTimes(nbf: unknown, iat: number, exp: number, rules: ClaimRules, nowMs: number): void {
  if (nbf !== undefined && !isTime(nbf)) throw refuse('claims', 'The token has a malformed nbf claim');
  const now = nowMs / 1000;
  const tolerance = rules.clockToleranceSec;
  if (nbf !== undefined && nbf > now + tolerance) throw refuse('nbf', 'The token is not valid yet');
  if (iat > now + tolerance + IAT_GRANULARITY_SEC) throw refuse('iat', 'The token was issued in the future');
  if (exp <= now - tolerance) throw new VerifyError('token_expired', { check: 'exp' });
}

/** True when the cached or fresh claims are past their exp (with the tolerance). */
export function isExpired(claims: { exp: number }, nowMs: number, toleranceSec: number): boolean {
  return claims.exp <= nowMs / 1000 - toleranceSec;
}

function audienceMatches(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  return Array.isArray(aud) && aud.some((a) => typeof a === 'string' && accepted.includes(a));
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
