// Optional revocation checks. Without one, a verified token is honoured until its exp (15 minutes by
// default) even after logout; with one, a revoked session is refused at once. Both fail closed: when the
// backend cannot answer, the request is refused with service_unavailable (503), never let through.
import { createHash } from 'node:crypto';
import { VerifyError } from './errors.ts';
import { LruCache } from './lru-cache.ts';
import type { AccessTokenClaims } from './verify-signed-token.ts';

export interface RevocationCheck {
  /** True when the token's session was revoked; throws VerifyError('service_unavailable') when unsure. */
  isRevoked(claims: AccessTokenClaims, token: string): Promise<boolean>;
  close(): Promise<void>;
}

/** The part of an ioredis client this package uses. */
export interface RedisLike {
  get(key: string): Promise<string | null>;
}

export interface RedisRevocationOptions {
  /** `redis://…`: the same Redis (or Valkey) as Gatehouse's REDIS_URL. Needs the `ioredis` package. */
  url?: string;
  /** Or a client you already have (then `url` is not used and `close()` leaves the client open). */
  client?: RedisLike;
  /** Gatehouse's key prefix; `gh:` unless the server was given another. */
  prefix?: string;
  /** How long a lookup may take before the request is refused with 503. Default 1000 ms. */
  timeoutMs?: number;
}

export interface IntrospectRevocationOptions {
  /** Gatehouse's `POST /auth/introspect`, e.g. `https://auth.example.com/auth/introspect`. */
  url: string;
  /** An API key with the `introspect` scope (or an admin's access token), sent as a Bearer token. */
  token: string;
  /** How long an answer is reused for the same access token. Default 5000 ms: the revocation delay. */
  cacheMs?: number;
  timeoutMs?: number;
  cacheSize?: number;
}

interface IoRedisClient extends RedisLike {
  on(event: 'error', listener: (err: Error) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

const unavailable = (cause: unknown) => new VerifyError('service_unavailable', { check: 'revoked', message: 'The revocation list could not be checked', cause });

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Reads Gatehouse's revocation set: the key `<prefix>rev:<sid>` exists while the session's access tokens
 * must be refused (Gatehouse keeps it for an access-token lifetime after the revocation).
 */
export function redisRevocation(options: RedisRevocationOptions): RevocationCheck {
  const prefix = options.prefix ?? 'gh:';
  const timeoutMs = options.timeoutMs ?? 1000;
  if (!options.client && !options.url) throw new TypeError('revocation.redis needs a url or a client');
  let owned: Promise<IoRedisClient> | null = null;

  const client = (): Promise<RedisLike> => {
    if (options.client) return Promise.resolve(options.client);
    owned ??= import('ioredis').then(({ Redis }) => {
      const redis = new Redis(options.url!, {
        // Fail a lookup quickly while Redis is down instead of queueing it without bound.
        maxRetriesPerRequest: 1,
        connectTimeout: timeoutMs * 2,
        commandTimeout: timeoutMs,
      }) as unknown as IoRedisClient;
      // Errors surface on the lookups; an unhandled connection event would crash the process.
      redis.on('error', () => {});
      return redis;
    });
    return owned;
  };

  return {
    async isRevoked(claims) {
      try {
        return (await withTimeout(client().then((redis) => redis.get(`${prefix}rev:${claims.sid}`)), timeoutMs)) !== null;
      } catch (err) {
        throw unavailable(err);
      }
    },
    async close() {
      const redis = await owned?.catch(() => null);
      await redis?.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * Asks Gatehouse's `POST /auth/introspect` (RFC 7662; JSON `{ token }`, authorised by an API key with the
 * `introspect` scope or an admin's token) whether the token is still active, reusing an answer for `cacheMs`.
 * One HTTP round trip per token and cache period: the Redis check is cheaper where Redis is reachable.
 */
export function introspectRevocation(options: IntrospectRevocationOptions, fetchImpl: typeof fetch, now: () => number): RevocationCheck {
  const cacheMs = options.cacheMs ?? 5000;
  const timeoutMs = options.timeoutMs ?? 2000;
  const answers = new LruCache<{ active: boolean; until: number }>(options.cacheSize ?? 10_000);
  const pending = new Map<string, Promise<boolean>>();

  async function ask(token: string): Promise<boolean> {
    const res = await fetchImpl(options.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ token }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status !== 200) throw new Error(`introspection answered ${res.status}`);
    const body = (await res.json()) as { active?: unknown };
    if (typeof body?.active !== 'boolean') throw new Error('introspection answered without "active"');
    return body.active;
  }

  return {
    async isRevoked(_claims, token) {
      const key = createHash('sha256').update(token).digest('base64url');
      const cached = answers.get(key);
      if (cached && cached.until > now()) return !cached.active;
      // Many requests with one token at once share one introspection call.
      let answer = pending.get(key);
      if (!answer) {
        answer = ask(token).finally(() => pending.delete(key));
        pending.set(key, answer);
      }
      try {
        const active = await answer;
        answers.set(key, { active, until: now() + cacheMs });
        return !active;
      } catch (err) {
        throw unavailable(err);
      }
    },
    async close() {},
  };
}
