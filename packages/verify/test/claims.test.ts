// The header and claim rules, with tokens from an issuer of our own (for the shapes Gatehouse never signs),
// and the options checked at start-up.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createVerifier, VerifyError, type VerifierOptions } from '../src/index.ts';
import { LruCache } from '../src/lru-cache.ts';
import { parseJwks } from '../src/key-set.ts';
import { b64, generate, ownIssuer, signWith, type ForgeAlg } from './helpers/forge.ts';

async function rejects(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VerifyError, `expected a VerifyError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.status, code === 'service_unavailable' ? 503 : 401);
    if (message) assert.match(err.message, message);
    return true;
  });
}

const NOW = Date.UTC(2030, 0, 1);

function setup(alg: ForgeAlg = 'RS256', options: Partial<VerifierOptions> = {}) {
  const issuer = ownIssuer(alg, () => NOW);
  const verifier = createVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetch: issuer.fetch, now: () => NOW, clockToleranceSec: 0, ...options });
  return { issuer, verifier };
}

describe('claims', () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    it(`${alg}: a well-formed token verifies`, async () => {
      const { issuer, verifier } = setup(alg);
      assert.equal((await verifier.verifyAccessToken(issuer.token())).sub, 'user-1');
    });
  }

  it('accepts an aud array that contains the audience, and refuses one that does not', async () => {
    const { issuer, verifier } = setup();
    await verifier.verifyAccessToken(issuer.token({ aud: ['https://x.test', issuer.audience] }));
    await rejects(verifier.verifyAccessToken(issuer.token({ aud: ['https://x.test'] })), 'invalid_token', /audience/);
    await rejects(verifier.verifyAccessToken(issuer.token({ aud: undefined })), 'invalid_token', /audience/);
  });

  it('requires sub, sid, role, jti, iat and exp', async () => {
    const { issuer, verifier } = setup();
    for (const claim of ['sub', 'sid', 'role', 'jti', 'iat', 'exp']) {
      await rejects(verifier.verifyAccessToken(issuer.token({ [claim]: undefined })), 'invalid_token', /required claim/);
    }
    await rejects(verifier.verifyAccessToken(issuer.token({ exp: '9999999999' })), 'invalid_token', /required claim/);
    await rejects(verifier.verifyAccessToken(issuer.token({ sub: 42 })), 'invalid_token', /required claim/);
  });

  it('checks nbf and a future iat with the clock tolerance', async () => {
    const { issuer, verifier } = setup('RS256', { clockToleranceSec: 5 });
    const now = NOW / 1000;
    await verifier.verifyAccessToken(issuer.token({ nbf: now + 4 }));
    await rejects(verifier.verifyAccessToken(issuer.token({ nbf: now + 60 })), 'invalid_token', /not valid yet/);
    await rejects(verifier.verifyAccessToken(issuer.token({ iat: now + 60, exp: now + 960 })), 'invalid_token', /future/);
    await rejects(verifier.verifyAccessToken(issuer.token({ nbf: 'soon' })), 'invalid_token', /nbf/);
  });

  it('checks the signature before exp: a forged expired token is invalid, not expired', async () => {
    const { issuer, verifier } = setup();
    const expired = issuer.token({ iat: NOW / 1000 - 1000, exp: NOW / 1000 - 100 });
    await rejects(verifier.verifyAccessToken(expired), 'token_expired');
    const [h, p] = expired.split('.');
    await rejects(verifier.verifyAccessToken(`${h}.${p}.${b64('not a signature')}`), 'invalid_token', /signature/);
  });

  it('requires typ at+jwt (also as application/at+jwt), and refuses crit', async () => {
    const { issuer, verifier } = setup();
    await verifier.verifyAccessToken(issuer.token({}, { typ: 'application/at+jwt' }));
    await verifier.verifyAccessToken(issuer.token({}, { typ: 'AT+JWT' }));
    await rejects(verifier.verifyAccessToken(issuer.token({}, { typ: 'JWT' })), 'invalid_token', /typ/);
    await rejects(verifier.verifyAccessToken(issuer.token({}, { typ: undefined })), 'invalid_token', /typ/);
    await rejects(verifier.verifyAccessToken(issuer.token({}, { crit: ['exp'], exp: 1 })), 'invalid_token', /extension/);
  });

  it('uses a key only with its own algorithm', async () => {
    // An RSA key published for RS256 cannot verify a token that claims ES256 (or the reverse).
    const { issuer, verifier } = setup('RS256');
    const other = generate('ES256');
    const token = signWith('ES256', other.privateKey, { alg: 'ES256', kid: issuer.kid, typ: 'at+jwt' }, issuer.claims());
    await rejects(verifier.verifyAccessToken(token), 'invalid_token', /unknown key/);
  });

  it('refuses malformed and oversized tokens without throwing anything but invalid_token', async () => {
    const { issuer, verifier } = setup();
    const good = issuer.token();
    for (const bad of ['', 'abc', 'a.b', 'a.b.c.d', `${good}=`, `${good} `, 'x'.repeat(9000), `${b64('[1]')}.${b64('{}')}.${b64('sig')}`, `${b64('"str"')}.e30.c2ln`, `!!!.e30.c2ln`]) {
      await rejects(verifier.verifyAccessToken(bad), 'invalid_token');
    }
    await rejects(verifier.verifyAccessToken(undefined as unknown as string), 'invalid_token');
    const [h, p] = good.split('.');
    await rejects(verifier.verifyAccessToken(`${h}.${p}.AAAA`), 'invalid_token', /signature/);
    await rejects(verifier.verifyAccessToken(issuer.token({}, { kid: 'k'.repeat(300) })), 'invalid_token', /kid/);
    await rejects(verifier.verifyAccessToken(issuer.token({}, { kid: undefined })), 'invalid_token', /kid/);
  });
});

describe('verified-token cache', () => {
  it('still checks exp on a hit', async () => {
    const issuer = ownIssuer('RS256', () => NOW);
    let now = NOW;
    const verifier = createVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetch: issuer.fetch, now: () => now, clockToleranceSec: 0 });
    const token = issuer.token();
    await verifier.verifyAccessToken(token);
    now = NOW + 899_000;
    await verifier.verifyAccessToken(token);
    now = NOW + 900_000;
    await rejects(verifier.verifyAccessToken(token), 'token_expired');
  });

  it('forgets the least recently used token first and holds at most cacheSize', () => {
    const cache = new LruCache<number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    assert.equal(cache.get('a'), 1);
    cache.set('c', 3);
    assert.equal(cache.get('b'), undefined, 'b was the least recently used');
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.size, 2);
    const off = new LruCache<number>(0);
    off.set('a', 1);
    assert.equal(off.size, 0);
  });
});

describe('JWKS parsing', () => {
  it('keeps public signing keys of allowed algorithms only', () => {
    const rsa = generate('RS256');
    const ec = generate('ES256');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const keys = parseJwks(
      {
        keys: [
          { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa', alg: 'RS256' },
          { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-no-alg' },
          { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'enc', use: 'enc' },
          { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'private', alg: 'RS256' },
          { ...weak.publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256' },
          { kty: 'oct', k: 'c2VjcmV0', kid: 'oct', alg: 'HS256' },
          { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'ps256', alg: 'PS256' },
          { kty: 'RSA', n: 'garbage', e: 'AQAB', kid: 'broken' },
          { ...rsa.publicKey.export({ format: 'jwk' }) },
          'not a key',
        ],
      },
      ['RS256', 'ES256'],
    );
    assert.deepEqual([...keys.keys()].sort(), ['ec-no-alg', 'rsa']);
    assert.throws(() => parseJwks({ nokeys: [] }, ['RS256']));
  });
});

describe('options', () => {
  const base = { issuer: 'https://auth.test', audience: 'https://api.test' };
  it('throws TypeError at start-up for a mistake, not 401s later', () => {
    assert.throws(() => createVerifier({} as VerifierOptions), TypeError);
    assert.throws(() => createVerifier({ issuer: 'https://auth.test' } as VerifierOptions), /audience/);
    assert.throws(() => createVerifier({ ...base, algorithms: [] }), /empty/);
    assert.throws(() => createVerifier({ ...base, algorithms: ['none' as never] }), /not supported/);
    assert.throws(() => createVerifier({ ...base, algorithms: ['HS512' as never] }), /not supported/);
    assert.throws(() => createVerifier({ ...base, algorithms: ['HS256'] }), /secret/);
    assert.throws(() => createVerifier({ ...base, secret: 'short' }), /32 bytes/);
    assert.throws(() => createVerifier({ ...base, cooldownMs: -1 }), /cooldownMs/);
    assert.throws(() => createVerifier({ ...base, jwksUrl: 'not a url' }), /JWKS URL/);
    assert.throws(() => createVerifier({ ...base, revocation: {} as never }), /exactly one/);
    assert.throws(() => createVerifier({ ...base, revocation: { redis: {} } }), /url or a client/);
  });

  it('with a secret and no algorithms accepts HS256 only', async () => {
    const secret = 'a-shared-secret-of-at-least-32-bytes!!';
    const verifier = createVerifier({ ...base, secret, now: () => NOW });
    const issuer = ownIssuer('RS256', () => NOW);
    await rejects(verifier.verifyAccessToken(issuer.token({ iss: base.issuer, aud: base.audience })), 'invalid_token', /algorithm/);
  });
});
