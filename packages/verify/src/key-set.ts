// The issuer's public keys, fetched from its JWKS and cached by `kid`. Keys come only from here: a token's
// `jku`, `x5u` and `jwk` headers are never looked at.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { ASYMMETRIC, type AsymmetricAlgorithm } from './algorithms.ts';
import { VerifyError } from './errors.ts';

export interface KeySetOptions {
  url: string;
  /** Algorithms a key may be used with; keys for any other are ignored. */
  algorithms: readonly AsymmetricAlgorithm[];
  /** An unknown kid refetches the JWKS at most once per this interval. */
  cooldownMs: number;
  /** After this long the JWKS is refetched in the background, so removed keys stop verifying. */
  maxAgeMs: number;
  timeoutMs: number;
  fetch: typeof globalThis.fetch;
  now: () => number;
}

interface CachedKey {
  /** The JWK's `alg`, when it names one: then the key verifies that algorithm only. */
  alg: AsymmetricAlgorithm | null;
  key: KeyObject;
}

// After a failed fetch, try again after at most a second even when the cooldown is set longer: an issuer that
// was down for a moment should not make a cold verifier refuse everything for the whole cooldown.
const RETRY_AFTER_FAILURE_MS = 1000;
const MAX_JWKS_BYTES = 256 * 1024;
const MAX_KEYS = 100;
// Members that only a private or symmetric JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

export class KeySet {
  private keys = new Map<string, CachedKey>();
  private loadedAt: number | null = null;
  private nextFetchAt = 0;
  private inFlight: Promise<void> | null = null;
  /** How many times the JWKS was requested (for tests and metrics). */
  fetches = 0;

  constructor(private readonly options: KeySetOptions) {}

  /** The key for `kid` usable with `alg`, or null when the issuer does not publish one. */
  async find(kid: string, alg: AsymmetricAlgorithm): Promise<KeyObject | null> {
    const now = this.options.now();
    if (this.loadedAt === null) await this.loadFirst(now);
    else if (now - this.loadedAt >= this.options.maxAgeMs && !this.inFlight && now >= this.nextFetchAt) {
      // Stale-while-revalidate: this request uses the keys it has; a failure keeps them.
      this.refetch(now).catch(() => {});
    }
    if (!this.keys.has(kid)) {
      // A rotation on the issuer: join the fetch under way, or start one if the cooldown allows.
      if (this.inFlight) await this.inFlight.catch(() => {});
      else if (now >= this.nextFetchAt) await this.refetch(now).catch(() => {});
    }
    const cached = this.keys.get(kid);
    if (!cached) return null;
    if (cached.alg !== null ? cached.alg !== alg : !ASYMMETRIC[alg].accepts(cached.key)) return null;
    return cached.key;
  }

  private async loadFirst(now: number): Promise<void> {
    try {
      if (this.inFlight) await this.inFlight;
      else if (now >= this.nextFetchAt) await this.refetch(now);
      else throw new Error('the JWKS could not be fetched a moment ago');
    } catch (err) {
      throw new VerifyError('service_unavailable', { check: 'keys', message: 'The signing keys could not be fetched', cause: err });
    }
  }

  /** One fetch at a time: every caller that arrives while it runs shares it. */
  private refetch(now: number): Promise<void> {
    this.inFlight ??= this.load(now).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async load(now: number): Promise<void> {
    this.nextFetchAt = now + this.options.cooldownMs;
    this.fetches += 1;
    try {
      const keys = parseJwks(await this.download(), this.options.algorithms);
      this.keys = keys;
      this.loadedAt = this.options.now();
    } catch (err) {
      this.nextFetchAt = now + Math.min(this.options.cooldownMs, RETRY_AFTER_FAILURE_MS);
      throw err;
    }
  }

  private async download(): Promise<unknown> {
    const res = await this.options.fetch(this.options.url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (!res.ok) throw new Error(`the JWKS endpoint answered ${res.status}`);
    const text = await res.text();
    if (text.length > MAX_JWKS_BYTES) throw new Error('the JWKS is too large');
    return JSON.parse(text);
  }
}

/** The usable public signing keys of a JWKS (RFC 7517 §5); anything else in it is skipped. */
export function parseJwks(body: unknown, algorithms: readonly AsymmetricAlgorithm[]): Map<string, CachedKey> {
  const list = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('the JWKS has no "keys" array');
  const keys = new Map<string, CachedKey>();
  for (const jwk of list.slice(0, MAX_KEYS) as Array<Record<string, unknown>>) {
    if (typeof jwk !== 'object' || jwk === null || typeof jwk.kid !== 'string' || keys.has(jwk.kid)) continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (PRIVATE_MEMBERS.some((member) => member in jwk)) continue;
    const alg = jwk.alg === undefined ? null : (algorithms as readonly unknown[]).includes(jwk.alg) ? (jwk.alg as AsymmetricAlgorithm) : undefined;
    if (alg === undefined) continue;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      continue;
    }
    const usable = alg ? ASYMMETRIC[alg].accepts(key) : algorithms.some((a) => ASYMMETRIC[a].accepts(key));
    if (usable) keys.set(jwk.kid, { alg, key });
  }
  return keys;
}
