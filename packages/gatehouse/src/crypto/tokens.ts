// Access tokens (RFC 9068 shape): signed here, verified here and by @gatehouse/verify.
import { errors, jwtVerify, type CryptoKey, type JWTHeaderParameters } from 'jose';
import { KeyObject, createHmac, createSecretKey, sign as signWithKey } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { KeyRing } from './keys.ts';
import { randomToken } from './random.ts';

export interface AccessClaims {
  sub: string;
  sid: string;
  role: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface TokenOptions {
  issuer: string;
  audience: string;
  ttlMs: number;
  /** How often another instance's key rotation is picked up. */
  keyRingRefreshMs: number;
}

// A real access token is well under 1 KiB; refuse huge input before parsing it.
const MAX_TOKEN_LENGTH = 4096;
// An unknown kid triggers at most one ring reload per this interval: shorter than KEY_ACTIVATION_DELAY, so an
// instance that reloaded just before another made a key still learns it before tokens signed by it arrive.
const UNKNOWN_KID_RELOAD_MS = 1000;
// Tokens whose signature and claims were already checked, until their exp: a client calling many routes
// with one token pays for the signature once. Revocation is still checked on every request by the guard.
const VERIFIED_CACHE_SIZE = 10_000;

// Signing goes through node:crypto rather than jose's WebCrypto path: the same JWS (RFC 7515 compact form),
// but the key object is made once per key, the signature runs on libuv's thread pool, and the main thread
// spends about a quarter of the time on each token. One row per algorithm.
const SIGNERS: Record<string, (key: KeyObject, input: Buffer) => Promise<Buffer>> = {
  RS256: (key, input) => signAsync('sha256', input, key),
  ES256: (key, input) => signAsync('sha256', input, { key, dsaEncoding: 'ieee-p1363' }),
  EdDSA: (key, input) => signAsync(null, input, key),
  HS256: async (key, input) => createHmac('sha256', key).update(input).digest(),
};

function signAsync(digest: string | null, input: Buffer, key: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' }): Promise<Buffer> {
  return new Promise((resolve, reject) => signWithKey(digest, input, key, (err, signature) => (err ? reject(err) : resolve(signature))));
}

const keyObjects = new WeakMap<CryptoKey | Uint8Array, KeyObject>();

function keyObjectOf(key: CryptoKey | Uint8Array): KeyObject {
  let object = keyObjects.get(key);
  if (!object) {
    object = key instanceof Uint8Array ? createSecretKey(key) : KeyObject.from(key as unknown as globalThis.CryptoKey);
    keyObjects.set(key, object);
  }
  return object;
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

export class AccessTokens {
  private lastUnknownKidReload = 0;
  private readonly verified = new Map<string, AccessClaims>();

  constructor(
    private readonly ring: KeyRing,
    private readonly options: TokenOptions,
  ) {}

  async sign(subject: { sub: string; sid: string; role: string }, now: number): Promise<{ token: string; expiresIn: number }> {
    await this.ring.refreshIfOlderThan(this.options.keyRingRefreshMs);
    const { kid, alg, key } = this.ring.signingKey();
    const iat = Math.floor(now / 1000);
    const expiresIn = Math.floor(this.options.ttlMs / 1000);
    const signer = SIGNERS[alg];
    if (!signer) throw new TypeError(`no signer for ${alg}`);
    // The claims in the order jose's SignJWT wrote them, so tokens look as they always did.
    const payload = {
      sid: subject.sid,
      role: subject.role,
      iss: this.options.issuer,
      aud: this.options.audience,
      sub: subject.sub,
      jti: randomToken().slice(0, 22),
      iat,
      exp: iat + expiresIn,
    };
    const input = `${base64url({ alg, kid, typ: 'at+jwt' })}.${base64url(payload)}`;
    const signature = await signer(keyObjectOf(key), Buffer.from(input));
    return { token: `${input}.${signature.toString('base64url')}`, expiresIn };
  }

  /** Verifies signature, `typ`, `iss`, `aud`, `exp` and `nbf`; throws token_expired or invalid_token. */
  async verify(token: string, now: number): Promise<AccessClaims> {
    if (token.length > MAX_TOKEN_LENGTH) throw new AppError('invalid_token');
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.exp * 1000 > now) return cached;
      this.verified.delete(token);
      throw new AppError('token_expired');
    }
    const claims = await this.verifySignedToken(token, now);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, claims);
    return claims;
  }

  private async verifySignedToken(token: string, now: number): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.keyFor(header), {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: this.ring.algorithms(),
        typ: 'at+jwt',
        currentDate: new Date(now),
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
      });
      const { sub, sid, role, jti, iat, exp } = payload;
      if (typeof sub !== 'string' || typeof sid !== 'string' || typeof role !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') {
        throw new AppError('invalid_token');
      }
      return { sub, sid, role, jti, iat, exp };
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof errors.JWTExpired) throw new AppError('token_expired');
      throw new AppError('invalid_token');
    }
  }

  // Keys come only from our own ring: `jku`, `x5u` and embedded `jwk` headers are never looked at.
  private async keyFor(header: JWTHeaderParameters) {
    const kid = header.kid;
    if (typeof kid !== 'string' || kid.length > 128) throw new AppError('invalid_token');
    let key = this.ring.verificationKey(kid, header.alg);
    const now = Date.now();
    if (!key && now - this.lastUnknownKidReload >= UNKNOWN_KID_RELOAD_MS) {
      this.lastUnknownKidReload = now;
      await this.ring.reload();
      key = this.ring.verificationKey(kid, header.alg);
    }
    if (!key) throw new AppError('invalid_token');
    return key;
  }
}
