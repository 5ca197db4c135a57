// The key ring: which key signs, which keys verify, and what the JWKS publishes.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { JwtAlg } from '../config.ts';
import { deriveKey, sha256 } from './random.ts';

type AsymmetricAlg = Exclude<JwtAlg, 'HS256'>;

// Everything about one algorithm in one row.
const ALGORITHMS: Record<AsymmetricAlg, { generate: () => ReturnType<typeof generateKeyPair> }> = {
  RS256: { generate: () => generateKeyPair('RS256', { modulusLength: 2048, extractable: true }) },
  ES256: { generate: () => generateKeyPair('ES256', { extractable: true }) },
  EdDSA: { generate: () => generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true }) },
};

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  publicJwk: JWK;
  /** The private JWK, encrypted (see `sealPrivateKey`). */
  privateKey: string;
  createdAt: number;
  retiredAt: number | null;
}

export interface KeyStore {
  list(): Promise<SigningKeyRecord[]>;
  /** Adds `key` and retires every other live key, in one transaction. */
  insertAndRetireOthers(key: SigningKeyRecord, now: number): Promise<void>;
  /** Deletes keys retired before `before` (their tokens have all expired). */
  deleteRetiredBefore(before: number): Promise<number>;
}

export interface KeyRingOptions {
  store: KeyStore;
  alg: JwtAlg;
  /** GATEHOUSE_SECRET: encrypts private keys at rest. */
  secret: string;
  /** JWT_SECRET, for HS256. */
  jwtSecret: string | null;
  accessTokenTtlMs: number;
  /**
   * A new key is published at once but signs only this long after it was made, so that every instance and
   * every verifier can have fetched it before the first token signed with it arrives. 0: at once.
   */
  activationDelayMs?: number;
  now?: () => number;
}

interface LoadedKey {
  kid: string;
  alg: string;
  publicJwk: JWK | null;
  verifyKey: CryptoKey | Uint8Array;
  signKey: CryptoKey | Uint8Array | null;
  retiredAt: number | null;
}

// Instances reload the ring every KEY_RING_REFRESH, so a retired key keeps verifying (and stays published)
// for the access-token lifetime plus this margin after the last instance may still have signed with it.
const PUBLICATION_MARGIN_MS = 5 * 60_000;

const VERSION = 'v1';

export function sealPrivateKey(secret: string, jwk: JWK): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(secret, 'signing-keys'), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export function openPrivateKey(secret: string, sealed: string): JWK {
  const [version, iv, body, tag] = sealed.split('.');
  if (version !== VERSION || !iv || !body || !tag) throw new Error('unknown private key format');
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(secret, 'signing-keys'), Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  let text: string;
  try {
    text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    // GCM's tag check failed: another secret sealed this key, or the stored text was altered.
    throw new Error('a signing key cannot be opened: GATEHOUSE_SECRET is not the one it was sealed with (every instance must share one secret), or the key was altered');
  }
  return JSON.parse(text) as JWK;
}

export async function generateSigningKey(alg: AsymmetricAlg, secret: string, now: number): Promise<SigningKeyRecord> {
  const { publicKey, privateKey } = await ALGORITHMS[alg].generate();
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    alg,
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
    privateKey: sealPrivateKey(secret, await exportJWK(privateKey)),
    createdAt: now,
    retiredAt: null,
  };
}

export class KeyRing {
  private keys = new Map<string, LoadedKey>();
  private signer: LoadedKey | null = null;
  /** The newest key, published but not signing until `activeAt`. */
  private pending: { key: LoadedKey; activeAt: number } | null = null;
  private lastReload = 0;
  private reloading: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: KeyRingOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Loads the ring, making the first key (or a key of a newly chosen JWT_ALG) when there is none. */
  async open(): Promise<this> {
    if (this.options.alg !== 'HS256') {
      const records = await this.options.store.list();
      const live = records.filter((r) => r.retiredAt === null).sort((a, b) => b.createdAt - a.createdAt);
      if (!live[0] || live[0].alg !== this.options.alg) await this.rotate();
    }
    await this.reload();
    return this;
  }

  /** Adds a new signing key; the previous ones are retired but stay published until their tokens expire. */
  async rotate(): Promise<SigningKeyRecord> {
    if (this.options.alg === 'HS256') throw new TypeError('HS256 uses JWT_SECRET; rotate it by changing JWT_SECRET');
    const now = this.now();
    const record = await generateSigningKey(this.options.alg, this.options.secret, now);
    await this.options.store.insertAndRetireOthers(record, now);
    await this.options.store.deleteRetiredBefore(now - this.options.accessTokenTtlMs - PUBLICATION_MARGIN_MS);
    await this.reload();
    return record;
  }

  async reload(): Promise<void> {
    this.reloading ??= this.load().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async load(): Promise<void> {
    const now = this.now();
    this.lastReload = now;
    const keys = new Map<string, LoadedKey>();
    let signer: LoadedKey | null = null;
    if (this.options.alg === 'HS256') {
      // Imported once: jose imports raw secret bytes again on every verification. Never extractable.
      const secret = (await globalThis.crypto.subtle.importKey('raw', new TextEncoder().encode(this.options.jwtSecret ?? ''), { name: 'HMAC', hash: 'SHA-256' }, false, [
        'sign',
        'verify',
      ])) as CryptoKey;
      // The kid names the secret without revealing it.
      const hsKey: LoadedKey = { kid: `hs-${sha256(this.options.jwtSecret ?? '').slice(0, 16)}`, alg: 'HS256', publicJwk: null, verifyKey: secret, signKey: secret, retiredAt: null };
      keys.set(hsKey.kid, hsKey);
      signer = hsKey;
    }
    const records = (await this.options.store.list()).sort((a, b) => b.createdAt - a.createdAt);
    const published = records.filter((r) => r.retiredAt === null || r.retiredAt + this.options.accessTokenTtlMs + PUBLICATION_MARGIN_MS > now);
    const newestLive = published.find((r) => r.retiredAt === null);
    // The key that signs: the newest live one once its activation delay has passed; until then the key it
    // replaced (the newest other published key), so that nobody meets a token signed by a key not yet fetched.
    const activeAt = newestLive ? newestLive.createdAt + (this.options.activationDelayMs ?? 0) : 0;
    const previous = newestLive && activeAt > now ? published.find((r) => r.kid !== newestLive.kid) : undefined;
    const signing = new Set(this.options.alg === 'HS256' ? [] : [newestLive?.kid, previous?.kid].filter(Boolean));
    for (const record of published) {
      const loaded: LoadedKey = {
        kid: record.kid,
        alg: record.alg,
        publicJwk: record.publicJwk,
        verifyKey: (await importJWK(record.publicJwk, record.alg)) as CryptoKey,
        signKey: signing.has(record.kid) ? ((await importJWK(openPrivateKey(this.options.secret, record.privateKey), record.alg)) as CryptoKey) : null,
        retiredAt: record.retiredAt,
      };
      keys.set(record.kid, loaded);
    }
    let pending: { key: LoadedKey; activeAt: number } | null = null;
    if (this.options.alg !== 'HS256' && newestLive) {
      if (previous) {
        signer = keys.get(previous.kid)!;
        pending = { key: keys.get(newestLive.kid)!, activeAt };
      } else signer = keys.get(newestLive.kid)!;
    }
    if (!signer) throw new Error(`no signing key for ${this.options.alg}`);
    this.keys = keys;
    this.signer = signer;
    this.pending = pending;
  }

  /** Reloads when the ring is older than `maxAgeMs`: how rotations made by other instances arrive. */
  async refreshIfOlderThan(maxAgeMs: number): Promise<void> {
    if (this.now() - this.lastReload >= maxAgeMs) await this.reload();
  }

  signingKey(): { kid: string; alg: string; key: CryptoKey | Uint8Array } {
    if (this.pending && this.now() >= this.pending.activeAt) {
      this.signer = this.pending.key;
      this.pending = null;
    }
    const signer = this.signer;
    if (!signer?.signKey) throw new Error('key ring not open');
    return { kid: signer.kid, alg: signer.alg, key: signer.signKey };
  }

  verificationKey(kid: string, alg: string): CryptoKey | Uint8Array | null {
    const key = this.keys.get(kid);
    return key && key.alg === alg ? key.verifyKey : null;
  }

  /** The algorithms this ring can verify: the allow-list handed to the JWT verifier. */
  algorithms(): string[] {
    return [...new Set([...this.keys.values()].map((k) => k.alg))];
  }

  jwks(): { keys: JWK[] } {
    return { keys: [...this.keys.values()].flatMap((k) => (k.publicJwk ? [k.publicJwk] : [])) };
  }
}
