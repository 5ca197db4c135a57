// TOTP against RFC 6238's own test vectors (Appendix B), and the drift window the contract allows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOTP, Secret } from 'otpauth';
import { codeAt, matchingStep, newTotpSecret, otpauthUrl } from '../../src/methods/totp/totp.ts';

// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890"; codes are 8 digits there.
const RFC_SEED = Secret.fromUTF8('12345678901234567890');
const RFC_VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238)', () => {
  it('matches the Appendix B SHA-1 vectors (T = floor(time / 30), 8 digits)', () => {
    for (const [time, expected] of RFC_VECTORS) {
      const counter = Math.floor(time / 30);
      assert.equal(HOTP.generate({ secret: RFC_SEED, algorithm: 'SHA1', digits: 8, counter }), expected, `T=${time}`);
    }
  });

  it('the 6-digit codes we accept are the last six digits of the same vectors, at the same step', () => {
    const base32 = RFC_SEED.base32;
    for (const [time, expected] of RFC_VECTORS) {
      const now = time * 1000;
      assert.equal(codeAt(base32, now), expected.slice(-6), `T=${time}`);
      assert.equal(matchingStep(base32, expected.slice(-6), now), Math.floor(time / 30));
    }
  });

  it('accepts one step of drift either way and no more', () => {
    const secret = newTotpSecret();
    const now = Date.UTC(2026, 10, 30, 12, 0, 15);
    const step = Math.floor(now / 30_000);
    assert.equal(matchingStep(secret, codeAt(secret, now - 30_000), now), step - 1);
    assert.equal(matchingStep(secret, codeAt(secret, now + 30_000), now), step + 1);
    assert.equal(matchingStep(secret, codeAt(secret, now - 60_000), now), null);
    assert.equal(matchingStep(secret, codeAt(secret, now + 60_000), now), null);
  });

  it('refuses malformed codes without throwing', () => {
    const secret = newTotpSecret();
    for (const bad of ['', '12345', '1234567', 'abcdef', '12 34 5x', '０１２３４５']) assert.equal(matchingStep(secret, bad, Date.now()), null, bad);
  });

  it('makes 160-bit secrets and an otpauth URL with the issuer, the account and the contract parameters', () => {
    const secret = newTotpSecret();
    assert.equal(Secret.fromBase32(secret).bytes.length, 20);
    const url = new URL(otpauthUrl(secret, 'Acme', 'ada@example.com'));
    assert.equal(url.protocol, 'otpauth:');
    assert.equal(url.host, 'totp');
    assert.equal(url.searchParams.get('secret'), secret);
    assert.equal(url.searchParams.get('issuer'), 'Acme');
    assert.equal(url.searchParams.get('algorithm'), 'SHA1');
    assert.equal(url.searchParams.get('digits'), '6');
    assert.equal(url.searchParams.get('period'), '30');
    assert.match(decodeURIComponent(url.pathname), /Acme:ada@example.com/);
  });
});
