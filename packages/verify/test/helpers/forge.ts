// Tokens made by hand: an issuer of our own (a key pair and its JWKS behind a stub fetch) and tampering.
import { createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';

export const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export function decode(token: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signature: string } {
  const [h, p, s] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()), signature: s ?? '' };
}

export type ForgeAlg = 'RS256' | 'ES256' | 'EdDSA';

/** Signs `header.payload` with a private key the way RFC 7518 says for `alg`. */
export function signWith(alg: ForgeAlg, key: KeyObject, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature =
    alg === 'RS256'
      ? sign('sha256', Buffer.from(input), key)
      : alg === 'ES256'
        ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
        : sign(null, Buffer.from(input), key);
  return `${input}.${signature.toString('base64url')}`;
}

export function hs256(secret: string | Buffer, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

const issuerKeys = new Map<ForgeAlg, { privateKey: KeyObject; publicKey: KeyObject }>();

export function generate(alg: ForgeAlg): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg === 'RS256') return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return generateKeyPairSync('ed25519');
}

export interface OwnIssuer {
  issuer: string;
  audience: string;
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwks: { keys: Array<Record<string, unknown>> };
  /** A fetch that serves `jwks` and counts its calls. */
  fetch: typeof fetch & { calls: string[] };
  /** A valid access token, with overrides. */
  token(claims?: Record<string, unknown>, header?: Record<string, unknown>): string;
  claims(overrides?: Record<string, unknown>): Record<string, unknown>;
}

/** An issuer of our own, for the checks a real Gatehouse never gives us a token for. */
export function ownIssuer(alg: ForgeAlg = 'RS256', now = () => Date.now()): OwnIssuer {
  // One key pair per algorithm for all own issuers: RSA generation is slow, and the kid tells them apart.
  if (!issuerKeys.has(alg)) issuerKeys.set(alg, generate(alg));
  const { privateKey, publicKey } = issuerKeys.get(alg)!;
  const kid = `kid-${randomUUID()}`;
  const issuer = 'https://auth.test';
  const audience = 'https://api.test';
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } as Record<string, unknown>] };
  const calls: string[] = [];
  const stub = (async (input: string | URL | Request) => {
    calls.push(String(input instanceof Request ? input.url : input));
    return new Response(JSON.stringify(jwks), { headers: { 'content-type': 'application/json' } });
  }) as typeof fetch & { calls: string[] };
  stub.calls = calls;
  const claims = (overrides: Record<string, unknown> = {}) => {
    const iat = Math.floor(now() / 1000);
    return { iss: issuer, aud: audience, sub: 'user-1', sid: 'session-1', jti: randomUUID(), role: 'user', iat, exp: iat + 900, ...overrides };
  };
  return {
    issuer,
    audience,
    kid,
    privateKey,
    publicKey,
    jwks,
    fetch: stub,
    claims,
    token: (overrides = {}, header = {}) => signWith(alg, privateKey, { alg, kid, typ: 'at+jwt', ...header }, claims(overrides)),
  };
}
