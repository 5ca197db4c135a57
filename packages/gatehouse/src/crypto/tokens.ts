// Access tokens (RFC 9068 shape): signed here, verified here with @gatehouse/verify's own checks (the same
// code, limits and canonical-encoding rule as every other service), against this server's key ring.
import { MAX_KID_LENGTH, MAX_TOKEN_LENGTH, VerifyError, verifySignedToken, type Algorithm, type TokenRules } from '@gatehouse/verify/jws';
import type { CryptoKey } from 'jose';
import { KeyObject, createHmac, createSecretKey, sign as signWithKey } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { KeyRing } from './keys.ts';
import { randomToken } from './random.ts';

export interface AccessClaims {
  sub: string;
  sid: string;
  role: string;
  /** How the session was signed in (RFC 8176 values); [] for a token that carries none. */
  amr: string[];
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

// An unknown kid triggers at most one ring reload per this interval: shorter than KEY_ACTIVATION_DELAY, so an
// instance that reloaded just before another made a key still learns it before tokens signed by it arrive.
const UNKNOWN_KID_RELOAD_MS = 1000;
// Tokens whose signature and claims were already checked, until their exp: a client calling many routes
// with one token pays for the signature once. Revocation is still checked on every request by the guard.
const VERIFIED_CACHE_SIZE = 10_000;
// This server signs its own tokens and shares its clock source with the other instances: exp is exact.
const CLOCK_TOLERANCE_SEC = 0;

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
  private readonly rules: TokenRules;

  constructor(
    private readonly ring: KeyRing,
    private readonly options: TokenOptions,
  ) {
    this.rules = {
      issuer: options.issuer,
      audiences: [options.audience],
      clockToleranceSec: CLOCK_TOLERANCE_SEC,
      algorithms: { has: (alg) => this.ring.algorithms().includes(alg) },
      keyFor: (alg, kid) => this.keyFor(alg, kid),
    };
  }

  async sign(subject: { sub: string; sid: string; role: string; amr?: string[] }, now: number): Promise<{ token: string; expiresIn: number }> {
    await this.ring.refreshIfOlderThan(this.options.keyRingRefreshMs);
    const { kid, alg, key } = this.ring.signingKey();
    const iat = Math.floor(now / 1000);
    const expiresIn = Math.floor(this.options.ttlMs / 1000);
    const signer = SIGNERS[alg];
    if (!signer) throw new TypeError(`no signer for ${alg}`);
    const amr = subject.amr ?? [];
    // The claims in the order jose's SignJWT wrote them, so tokens look as they always did; amr (RFC 8176)
    // only when the sign-in recorded how it happened.
    const payload = {
      sid: subject.sid,
      role: subject.role,
      ...(amr.length > 0 ? { amr } : {}),
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

  /** Verifies format, alg, typ, kid, signature, `iss`, `aud`, `exp` and `nbf`; throws token_expired or invalid_token. */
  async verify(token: string, now: number): Promise<AccessClaims> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new AppError('invalid_token');
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
      const { sub, sid, role, amr, jti, iat, exp } = await verifySignedToken(token, this.rules, now);
      return { sub, sid, role, amr: [...amr], jti, iat, exp };
    } catch (err) {
      // The failed check travels as the cause, for the log; the answer is only the contract's code.
      if (err instanceof VerifyError) throw new AppError(err.code === 'token_expired' ? 'token_expired' : 'invalid_token', { cause: err });
      throw err;
    }
  }

  // Keys come only from our own ring: `jku`, `x5u` and embedded `jwk` headers are never looked at.
  private async keyFor(alg: Algorithm, kid: string | undefined): Promise<KeyObject | null> {
    if (kid === undefined || kid.length > MAX_KID_LENGTH) return null;
    let key = this.ring.verificationKey(kid, alg);
    const now = Date.now();
    if (!key && now - this.lastUnknownKidReload >= UNKNOWN_KID_RELOAD_MS) {
      this.lastUnknownKidReload = now;
      await this.ring.reload();
      key = this.ring.verificationKey(kid, alg);
    }
    return key ? keyObjectOf(key) : null;
  }
}
