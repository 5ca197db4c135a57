// AccessTokens on the shared checks of @gatehouse/verify: amr in and out, the contract's two codes (with the
// failing check kept as the cause), canonical encoding only, the shared limits, key lookup in the ring with
// one reload per second for an unknown kid, and agreement with a @gatehouse/verify verifier on the same JWKS.
import assert from 'node:assert/strict';
import { KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { createVerifier, VerifyError } from '@gatehouse/verify';
import { MAX_KID_LENGTH, MAX_TOKEN_LENGTH } from '@gatehouse/verify/jws';
import type { JwtAlg } from '../../src/config.ts';
import { KeyRing, type KeyStore, type SigningKeyRecord } from '../../src/crypto/keys.ts';
import { AccessTokens } from '../../src/crypto/tokens.ts';
import { AppError } from '../../src/errors.ts';

const SECRET = 'tokens-test-secret-0123456789-abcdefghijklmnopq';
const JWT_SECRET = 'a-jwt-secret-of-at-least-32-characters-0123456789';
const ISSUER = 'https://auth.test';
const TTL = 15 * 60_000;
const NOW = Date.UTC(2030, 0, 1);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A key store in memory that counts how often the ring lists it (one list per reload). */
class MemoryKeyStore implements KeyStore {
  records: SigningKeyRecord[] = [];
  lists = 0;
  async list() {
    this.lists += 1;
    return this.records.map((r) => ({ ...r }));
  }
  async insertAndRetireOthers(key: SigningKeyRecord, now: number) {
    for (const r of this.records) r.retiredAt ??= now;
    this.records.push({ ...key });
  }
  async deleteRetiredBefore(before: number) {
    const kept = this.records.filter((r) => r.retiredAt === null || r.retiredAt >= before);
    const removed = this.records.length - kept.length;
    this.records = kept;
    return removed;
  }
}

async function setup(alg: JwtAlg = 'ES256', store = new MemoryKeyStore()) {
  const ring = await new KeyRing({ store, alg, secret: SECRET, jwtSecret: alg === 'HS256' ? JWT_SECRET : null, accessTokenTtlMs: TTL, now: () => NOW }).open();
  const tokens = () => new AccessTokens(ring, { issuer: ISSUER, audience: ISSUER, ttlMs: TTL, keyRingRefreshMs: 60_000 });
  return { ring, store, tokens };
}

async function refused(promise: Promise<unknown>, code: 'invalid_token' | 'token_expired', check: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.status, 401);
    assert.ok(err.cause instanceof VerifyError, 'the failed check is kept as the cause');
    assert.equal(err.cause.check, check, err.cause.message);
    return true;
  });
}

/** The same bytes, with the lowest unused bit of the last character set. */
function strayBit(segment: string): string {
  assert.notEqual(segment.length % 4, 0);
  return segment.slice(0, -1) + ALPHABET[ALPHABET.indexOf(segment.at(-1)!) | 1];
}

describe('AccessTokens', () => {
  it('puts amr in the token and gives it back; a token without amr verifies as amr []', async () => {
    const { tokens } = await setup();
    const { token } = await tokens().sign({ sub: 'u1', sid: 's1', role: 'user', amr: ['pwd', 'otp', 'mfa'] }, NOW);
    assert.deepEqual(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).amr, ['pwd', 'otp', 'mfa']);
    const claims = await tokens().verify(token, NOW);
    assert.deepEqual(claims, { sub: 'u1', sid: 's1', role: 'user', amr: ['pwd', 'otp', 'mfa'], jti: claims.jti, iat: NOW / 1000, exp: NOW / 1000 + 900 });

    const bare = (await tokens().sign({ sub: 'u1', sid: 's1', role: 'user' }, NOW)).token;
    assert.equal('amr' in JSON.parse(Buffer.from(bare.split('.')[1]!, 'base64url').toString()), false);
    assert.deepEqual((await tokens().verify(bare, NOW)).amr, []);
  });

  it('answers token_expired at exp, fresh and from the cache, and invalid_token for a forgery', async () => {
    const { tokens } = await setup();
    const verifier = tokens();
    const { token } = await verifier.sign({ sub: 'u1', sid: 's1', role: 'user', amr: ['pwd'] }, NOW);
    await verifier.verify(token, NOW + TTL - 1000);
    await assert.rejects(verifier.verify(token, NOW + TTL), (err: unknown) => err instanceof AppError && err.code === 'token_expired');
    await refused(tokens().verify(token, NOW + TTL), 'token_expired', 'exp');
    const [h, , s] = token.split('.');
    await refused(tokens().verify(`${h}.${b64({ sub: 'u1', sid: 's1', role: 'admin' })}.${s}`, NOW), 'invalid_token', 'signature');
    await refused(tokens().verify(`${b64({ alg: 'none', typ: 'at+jwt' })}.${token.split('.')[1]}.`, NOW), 'invalid_token', 'format');
  });

  for (const alg of ['RS256', 'ES256', 'EdDSA', 'HS256'] as const) {
    it(`${alg}: refuses the token re-spelled with padding or stray bits, accepts it as signed`, async () => {
      const { tokens } = await setup(alg);
      const { token } = await tokens().sign({ sub: 'u1', sid: 's1', role: 'user', amr: ['pwd'] }, NOW);
      const [h, p, s] = token.split('.') as [string, string, string];
      // Every signature here (256, 64, 64 and 32 bytes) leaves unused bits in its last character.
      assert.deepEqual(Buffer.from(strayBit(s), 'base64url'), Buffer.from(s, 'base64url'));
      for (const respelled of [`${h}.${p}.${strayBit(s)}`, `${h}.${p}.${s}=`, `${h}.${p}.${s}==`, `${h}=.${p}.${s}`]) {
        await refused(tokens().verify(respelled, NOW), 'invalid_token', 'format');
      }
      assert.equal((await tokens().verify(token, NOW)).sub, 'u1');
    });
  }

  it('refuses a header or payload re-spelled with stray bits even when that text is genuinely signed', async () => {
    const { ring, tokens } = await setup('ES256');
    const { kid, key } = ring.signingKey();
    const privateKey = KeyObject.from(key as never);
    const signText = (h: string, p: string) => `${h}.${p}.${sign('sha256', Buffer.from(`${h}.${p}`), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    const iat = NOW / 1000;
    let header = b64({ alg: 'ES256', kid, typ: 'at+jwt' });
    for (let pad = ''; header.length % 4 !== 2; pad += 'x') header = b64({ alg: 'ES256', kid, typ: 'at+jwt', x: pad });
    let payload = '';
    for (let pad = ''; payload.length % 4 !== 2; pad += 'x') payload = b64({ iss: ISSUER, aud: ISSUER, sub: 'u1', sid: 's1', role: 'user', jti: 'j1', iat, exp: iat + 900, x: pad });
    assert.equal((await tokens().verify(signText(header, payload), NOW)).sub, 'u1');
    await refused(tokens().verify(signText(strayBit(header), payload), NOW), 'invalid_token', 'format');
    await refused(tokens().verify(signText(header, strayBit(payload)), NOW), 'invalid_token', 'format');
  });

  it("keeps @gatehouse/verify's limits: token length and kid length", async () => {
    const { ring, tokens } = await setup('ES256');
    const { kid, key } = ring.signingKey();
    const privateKey = KeyObject.from(key as never);
    const iat = NOW / 1000;
    const signed = (header: object, claims: object) => {
      const input = `${b64(header)}.${b64({ iss: ISSUER, aud: ISSUER, sub: 'u1', sid: 's1', role: 'user', jti: 'j1', iat, exp: iat + 900, ...claims })}`;
      return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    };
    const near = signed({ alg: 'ES256', kid, typ: 'at+jwt' }, { pad: 'x'.repeat(Math.floor(((MAX_TOKEN_LENGTH - 400) * 3) / 4)) });
    assert.ok(near.length <= MAX_TOKEN_LENGTH && near.length > 4096, String(near.length));
    assert.equal((await tokens().verify(near, NOW)).sub, 'u1');
    const over = signed({ alg: 'ES256', kid, typ: 'at+jwt' }, { pad: 'x'.repeat(MAX_TOKEN_LENGTH) });
    await assert.rejects(tokens().verify(over, NOW), (err: unknown) => err instanceof AppError && err.code === 'invalid_token');
    await refused(tokens().verify(signed({ alg: 'ES256', kid: 'k'.repeat(MAX_KID_LENGTH + 1), typ: 'at+jwt' }, {}), NOW), 'invalid_token', 'kid');
  });

  it('learns a key made by another instance on an unknown kid, reloading the ring at most once a second', async () => {
    const store = new MemoryKeyStore();
    const { tokens, ring } = await setup('ES256', store);
    const verifier = tokens();
    // Another instance rotates on the same store; this one has not reloaded yet.
    const other = await setup('ES256', store);
    await other.ring.rotate();
    const fromOther = (await other.tokens().sign({ sub: 'u2', sid: 's2', role: 'user' }, NOW)).token;
    assert.notEqual(JSON.parse(Buffer.from(fromOther.split('.')[0]!, 'base64url').toString()).kid, ring.signingKey().kid);
    const before = store.lists;
    assert.equal((await verifier.verify(fromOther, NOW)).sub, 'u2');
    assert.equal(store.lists, before + 1, 'one reload for the unknown kid');
    const [, p, s] = fromOther.split('.');
    for (const kid of ['junk-1', 'junk-2', 'junk-3']) {
      await refused(verifier.verify(`${b64({ alg: 'ES256', kid, typ: 'at+jwt' })}.${p}.${s}`, NOW), 'invalid_token', 'kid');
    }
    assert.equal(store.lists, before + 1, 'junk kids within the second reload nothing');
  });

  it('agrees with a @gatehouse/verify verifier on the published JWKS', async () => {
    const { ring, tokens } = await setup('EdDSA');
    const jwks = ring.jwks();
    const verifier = createVerifier({ issuer: ISSUER, audience: ISSUER, now: () => NOW, fetch: (async () => Response.json(jwks)) as typeof fetch });
    const { token } = await tokens().sign({ sub: 'u1', sid: 's1', role: 'admin', amr: ['hwk', 'user', 'mfa'] }, NOW);
    const [server, service] = [await tokens().verify(token, NOW), await verifier.verifyAccessToken(token)];
    assert.deepEqual([service.sub, service.sid, service.role, [...service.amr], service.jti], [server.sub, server.sid, server.role, server.amr, server.jti]);
    const [h, p, s] = token.split('.') as [string, string, string];
    await refused(tokens().verify(`${h}.${p}.${strayBit(s)}`, NOW), 'invalid_token', 'format');
    await assert.rejects(verifier.verifyAccessToken(`${h}.${p}.${strayBit(s)}`), (err: unknown) => err instanceof VerifyError && err.check === 'format');
  });
});
