// createVerifier: validates the options once, then verifies tokens with a key set, a verified-token cache
// and an optional revocation check.
import { createSecretKey, type KeyObject } from 'node:crypto';
import { DEFAULT_ALGORITHMS, KNOWN_ALGORITHMS, isAsymmetric, type Algorithm } from './algorithms.ts';
import { bearerToken } from './bearer.ts';
import { VerifyError } from './errors.ts';
import { KeySet } from './key-set.ts';
import { LruCache } from './lru-cache.ts';
import {
  introspectRevocation,
  redisRevocation,
  type IntrospectRevocationOptions,
  type RedisRevocationOptions,
  type RevocationCheck,
} from './revocation.ts';
import { postgresPushedRevocation, redisPushedRevocation, type PostgresRevocationOptions } from './revocation-feed.ts';
import { isExpired, verifySignedClientToken, verifySignedToken, type AccessTokenClaims, type ClientAccessTokenClaims, type TokenRules } from './verify-signed-token.ts';

export interface VerifierOptions {
  /** Gatehouse's PUBLIC_URL: the exact `iss` every token must carry. */
  issuer: string;
  /**
   * Gatehouse's JWT_AUDIENCE (its PUBLIC_URL unless set): the `aud` a token must carry. With
   * `tokens: 'client'`, this API's resource indicator (what clients send as `resource`).
   */
  audience: string | readonly string[];
  /**
   * Which tokens this verifier accepts. `'session'` (default): Gatehouse's own access tokens (sub, sid, role).
   * `'client'`: the OpenID provider's access tokens for clients (RFC 9068: client_id, scope, sub; no sid or
   * role), refused in the other mode and vice versa. Guard them with `requireScope(...)`.
   */
  tokens?: 'session' | 'client';
  /** Default `${issuer}/.well-known/jwks.json`. */
  jwksUrl?: string;
  /** Accepted signing algorithms. Default RS256, ES256 and EdDSA; `['HS256']` when `secret` is given. */
  algorithms?: readonly Algorithm[];
  /** Gatehouse's JWT_SECRET, only for HS256 (then this service can also mint tokens: prefer RS256). */
  secret?: string | Uint8Array;
  /**
   * Check the session is not revoked, through Gatehouse's Redis or its introspection route. With a Redis
   * `url` (unless `push: false`) or `postgres`, revocations Gatehouse pushes are kept in a local set.
   */
  revocation?:
    | { redis: RedisRevocationOptions & { push?: boolean } }
    | { introspect: IntrospectRevocationOptions }
    | { postgres: PostgresRevocationOptions }
    | { check: RevocationCheck };
  /** An unknown `kid` refetches the JWKS at most once per this interval. Default 1000 ms. */
  cooldownMs?: number;
  /** The JWKS is refetched in the background once older than this. Default 600 000 ms (10 min). */
  jwksMaxAgeMs?: number;
  /** Verified tokens remembered until their exp (least recently used go first). Default 10 000; 0 turns it off. */
  cacheSize?: number;
  /** Allowed clock difference with Gatehouse for `exp`, `nbf` and `iat`, in seconds. Default 5. */
  clockToleranceSec?: number;
  /** Timeout of one JWKS request. Default 5000 ms. */
  timeoutMs?: number;
  /** A fetch implementation (default the global one). */
  fetch?: typeof globalThis.fetch;
  /** The clock, in milliseconds (tests). */
  now?: () => number;
}

export interface Verifier<C extends AccessTokenClaims | ClientAccessTokenClaims = AccessTokenClaims> {
  /** The token's claims, or throws VerifyError: invalid_token, token_expired, token_revoked or service_unavailable. */
  verifyAccessToken(token: string): Promise<C>;
  /** The same for an `Authorization` header value; a missing header is authentication_required. */
  verifyAuthorization(header: string | readonly string[] | undefined | null): Promise<C>;
  /** How many times the JWKS was requested. */
  readonly jwksFetches: number;
  /** True while pushed revocations are received (Redis pub/sub or PostgreSQL LISTEN); false without push. */
  readonly revocationPushActive: boolean;
  /** Closes the Redis connection this verifier opened, if any. */
  close(): Promise<void>;
}

const MIN_SECRET_BYTES = 32;

export function createVerifier(options: VerifierOptions & { tokens: 'client' }): Verifier<ClientAccessTokenClaims>;
export function createVerifier(options: VerifierOptions): Verifier;
export function createVerifier(options: VerifierOptions): Verifier<any> {
  const settings = validate(options);
  const clientTokens = options.tokens === 'client';
  // Client tokens have no session to revoke: they are short-lived, and the provider's own introspection
  // (/oauth2/introspect) is the place to ask about one.
  if (clientTokens && options.revocation !== undefined) throw new TypeError('createVerifier: "revocation" applies to session tokens, not to tokens: \'client\'');
  const now = options.now ?? Date.now;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const keys = new KeySet({
    url: settings.jwksUrl,
    algorithms: settings.algorithms.filter(isAsymmetric),
    cooldownMs: settings.cooldownMs,
    maxAgeMs: settings.jwksMaxAgeMs,
    timeoutMs: settings.timeoutMs,
    fetch: fetchImpl,
    now,
  });
  const secret = settings.secret ? createSecretKey(settings.secret) : null;
  const rules: TokenRules = {
    issuer: settings.issuer,
    audiences: settings.audiences,
    algorithms: new Set(settings.algorithms),
    clockToleranceSec: settings.clockToleranceSec,
    keyFor: (alg, kid) => (alg === 'HS256' ? secret : findPublicKey(keys, alg, kid)),
  };
  const verified = new LruCache<AccessTokenClaims | ClientAccessTokenClaims>(settings.cacheSize);
  const revocation = revocationCheck(options.revocation, fetchImpl, now);
  const verifySigned = clientTokens ? verifySignedClientToken : verifySignedToken;

  async function verifyAccessToken(token: string): Promise<AccessTokenClaims | ClientAccessTokenClaims> {
    if (typeof token !== 'string') throw new VerifyError('invalid_token', { check: 'format' });
    const at = now();
    let claims = verified.get(token);
    if (claims && isExpired(claims, at, rules.clockToleranceSec)) {
      verified.delete(token);
      throw new VerifyError('token_expired', { check: 'exp' });
    }
    if (!claims) {
      claims = await verifySigned(token, rules, at);
      verified.set(token, claims);
    }
    if (revocation && (await isRevoked(revocation, claims as AccessTokenClaims, token))) throw new VerifyError('token_revoked', { check: 'revoked' });
    return claims;
  }

  return {
    verifyAccessToken,
    verifyAuthorization: async (header) => verifyAccessToken(bearerToken(header)),
    get jwksFetches() {
      return keys.fetches;
    },
    get revocationPushActive() {
      return (revocation as { subscribed?: boolean } | null)?.subscribed === true;
    },
    close: async () => {
      await revocation?.close();
    },
  };
}

// The issuer's keys by kid; a token for a public-key algorithm must name its key.
function findPublicKey(keys: KeySet, alg: Algorithm, kid: string | undefined): Promise<KeyObject | null> | null {
  if (!isAsymmetric(alg)) return null;
  if (kid === undefined) throw new VerifyError('invalid_token', { check: 'kid', message: 'The token names no usable key (kid)' });
  return keys.find(kid, alg);
}

/** Fails closed: a check that cannot answer refuses the request (503) rather than letting it through. */
async function isRevoked(check: RevocationCheck, claims: AccessTokenClaims, token: string): Promise<boolean> {
  try {
    return await check.isRevoked(claims, token);
  } catch (err) {
    if (err instanceof VerifyError) throw err;
    throw new VerifyError('service_unavailable', { check: 'revoked', message: 'The revocation list could not be checked', cause: err });
  }
}

/** Caller mistakes are TypeErrors at start-up, not 401s at request time. */
function validate(options: VerifierOptions) {
  if (options?.tokens !== undefined && options.tokens !== 'session' && options.tokens !== 'client') throw new TypeError('createVerifier: "tokens" is \'session\' or \'client\'');
  if (typeof options?.issuer !== 'string' || options.issuer === '') throw new TypeError('createVerifier: "issuer" is required');
  const audiences = typeof options.audience === 'string' ? [options.audience] : [...(options.audience ?? [])];
  if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
    throw new TypeError('createVerifier: "audience" is required (Gatehouse\'s JWT_AUDIENCE, by default its PUBLIC_URL)');
  }
  const secret = options.secret === undefined ? null : Buffer.from(options.secret);
  const algorithms = [...(options.algorithms ?? (secret ? ['HS256' as const] : DEFAULT_ALGORITHMS))];
  if (algorithms.length === 0) throw new TypeError('createVerifier: "algorithms" must not be empty');
  for (const alg of algorithms) {
    if (!KNOWN_ALGORITHMS.includes(alg)) throw new TypeError(`createVerifier: algorithm "${String(alg)}" is not supported (use ${KNOWN_ALGORITHMS.join(', ')})`);
  }
  if (algorithms.includes('HS256') && !secret) throw new TypeError('createVerifier: HS256 needs the "secret" option');
  if (secret && secret.length < MIN_SECRET_BYTES) throw new TypeError(`createVerifier: "secret" must be at least ${MIN_SECRET_BYTES} bytes`);
  const jwksUrl = options.jwksUrl ?? `${options.issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
  try {
    new URL(jwksUrl);
  } catch {
    throw new TypeError(`createVerifier: "${jwksUrl}" is not a valid JWKS URL`);
  }
  return {
    issuer: options.issuer,
    audiences,
    algorithms,
    secret: algorithms.includes('HS256') ? secret : null,
    jwksUrl,
    cooldownMs: nonNegative('cooldownMs', options.cooldownMs, 1000),
    jwksMaxAgeMs: nonNegative('jwksMaxAgeMs', options.jwksMaxAgeMs, 600_000),
    cacheSize: nonNegative('cacheSize', options.cacheSize, 10_000),
    clockToleranceSec: nonNegative('clockToleranceSec', options.clockToleranceSec, 5),
    timeoutMs: nonNegative('timeoutMs', options.timeoutMs, 5000),
  };
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`createVerifier: "${name}" must be a number ≥ 0`);
  return value;
}

function revocationCheck(option: VerifierOptions['revocation'], fetchImpl: typeof fetch, now: () => number): RevocationCheck | null {
  if (option === undefined) return null;
  const kinds = (['redis', 'introspect', 'postgres', 'check'] as const).filter((k) => k in option);
  if (kinds.length !== 1) throw new TypeError('createVerifier: "revocation" takes exactly one of redis, introspect, postgres or check');
  if ('redis' in option) {
    const { push, ...redis } = option.redis;
    if (redis.url && !redis.client && push !== false) return redisPushedRevocation({ ...redis, url: redis.url }, now);
    return redisRevocation(redis);
  }
  if ('postgres' in option) {
    if (typeof option.postgres?.url !== 'string' || !option.postgres.introspect) throw new TypeError('revocation.postgres needs a url and introspect options (its fallback)');
    return postgresPushedRevocation(option.postgres, introspectRevocation(option.postgres.introspect, fetchImpl, now), now);
  }
  if ('introspect' in option) return introspectRevocation(option.introspect, fetchImpl, now);
  return option.check;
}
