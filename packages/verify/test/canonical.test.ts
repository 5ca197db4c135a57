// One token, one spelling: a genuine token re-spelled with base64 padding or with different unused low bits
// in the last character of a segment decodes to the same bytes (Node's decoder does not mind), and must be
// refused all the same (RFC 7515 §2: base64url without padding; RFC 4648 §3.5).
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { createVerifier, VerifyError } from '../src/index.ts';
import { isCanonicalBase64url } from '../src/compact-jws.ts';
import { b64, ownIssuer, type ForgeAlg } from './helpers/forge.ts';

const NOW = Date.UTC(2030, 0, 1);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The same bytes with the lowest unused bit of the last character set. */
function strayBit(segment: string): string {
  assert.notEqual(segment.length % 4, 0, 'a segment of 4n characters has no unused bits');
  const last = ALPHABET.indexOf(segment.at(-1)!);
  const respelled = segment.slice(0, -1) + ALPHABET[last | 1];
  assert.notEqual(respelled, segment);
  assert.deepEqual(Buffer.from(respelled, 'base64url'), Buffer.from(segment, 'base64url'), 'the re-spelling decodes to the same bytes');
  return respelled;
}

/** The same bytes with the base64 padding a 4n + 2 or 4n + 3 segment would have. */
const padded = (segment: string) => segment + '='.repeat((4 - (segment.length % 4)) % 4);

/** A header and claims padded so that both segments end with unused bits (4n + 2 characters). */
function unalignedParts(issuer: ReturnType<typeof ownIssuer>, alg: ForgeAlg) {
  let header: Record<string, unknown> = { alg, kid: issuer.kid, typ: 'at+jwt' };
  let claims = issuer.claims();
  for (let pad = ''; b64(header).length % 4 !== 2; pad += 'x') header = { alg, kid: issuer.kid, typ: 'at+jwt', x: pad };
  for (let pad = ''; b64(claims).length % 4 !== 2; pad += 'x') claims = { ...issuer.claims(), x: pad };
  return { h: b64(header), p: b64(claims) };
}

/** Signs the text `h.p` as it stands, so only the spelling can be at fault. */
function signText(alg: ForgeAlg, issuer: ReturnType<typeof ownIssuer>, h: string, p: string): string {
  const input = Buffer.from(`${h}.${p}`);
  const signature =
    alg === 'RS256'
      ? sign('sha256', input, issuer.privateKey)
      : alg === 'ES256'
        ? sign('sha256', input, { key: issuer.privateKey, dsaEncoding: 'ieee-p1363' })
        : sign(null, input, issuer.privateKey);
  return `${h}.${p}.${signature.toString('base64url')}`;
}

async function refusedAsFormat(promise: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VerifyError, `${what}: ${String(err)}`);
    assert.equal(err.code, 'invalid_token', what);
    assert.equal(err.check, 'format', `${what}: ${err.message}`);
    return true;
  });
}

describe('canonical base64url only', () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    it(`${alg}: padding or stray bits in any segment are refused; the token as signed is accepted`, async () => {
      const issuer = ownIssuer(alg, () => NOW);
      // A fresh verifier per token: a verified-token cache must not be what answers.
      const verify = (token: string) => createVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetch: issuer.fetch, now: () => NOW }).verifyAccessToken(token);
      const { h, p } = unalignedParts(issuer, alg);
      const genuine = signText(alg, issuer, h, p);
      const s = genuine.split('.')[2]!;
      assert.equal((await verify(genuine)).sub, 'user-1');

      // The signature segment re-spelled: the signature bytes are the very same.
      await refusedAsFormat(verify(`${h}.${p}.${strayBit(s)}`), 'signature with a stray bit');
      await refusedAsFormat(verify(`${h}.${p}.${padded(s)}`), 'signature padded');
      await refusedAsFormat(verify(`${h}.${p}.${s}==`), 'signature with == appended');
      // Header or payload re-spelled, and the re-spelled text genuinely signed.
      for (const [what, hh, pp] of [
        ['header with a stray bit', strayBit(h), p],
        ['payload with a stray bit', h, strayBit(p)],
        ['header padded', padded(h), p],
        ['payload padded', h, padded(p)],
        ['payload with = appended', h, `${p}=`],
      ] as const) {
        await refusedAsFormat(verify(signText(alg, issuer, hh, pp)), what);
      }
      assert.equal((await verify(genuine)).sub, 'user-1');
    });
  }

  it('isCanonicalBase64url: the one encoding of some bytes, and nothing else', () => {
    for (let length = 0; length < 40; length += 1) {
      const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + 11) & 0xff));
      const encoded = bytes.toString('base64url');
      if (length > 0) assert.ok(isCanonicalBase64url(encoded), encoded);
      if (encoded.length % 4 !== 0) {
        assert.ok(!isCanonicalBase64url(padded(encoded)), `${encoded} padded`);
        assert.ok(!isCanonicalBase64url(strayBit(encoded)), `${encoded} with a stray bit`);
      }
    }
    for (const bad of ['', 'A', 'AAAAA', 'ab+c', 'ab/c', 'ab c', 'AB==', 'AB=']) assert.ok(!isCanonicalBase64url(bad), bad);
  });
});
