// Recovery codes: ten single-use codes, shown once, kept only as keyed hashes. 50 random bits each, written in
// an alphabet without look-alikes (Crockford's base32), in two groups of five: `k3m9x-7qpd2`.
import { randomInt } from 'node:crypto';
import { deriveKey, hmac } from '../../crypto/random.ts';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const SHAPE = /^[0-9a-z]{10}$/;

export function newRecoveryCodes(): string[] {
  const one = () => Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const code = one();
    return `${code.slice(0, 5)}-${code.slice(5)}`;
  });
}

/** What the user typed, as the code it must be: case, spaces and dashes do not matter; i, l and o read as 1, 1 and 0. */
export function normalizeRecoveryCode(typed: string): string | null {
  const code = typed.toLowerCase().replace(/[\s-]/g, '').replace(/[il]/g, '1').replace(/o/g, '0');
  return SHAPE.test(code) && [...code].every((c) => ALPHABET.includes(c)) ? code : null;
}

const keys = new Map<string, Buffer>();

/**
 * A keyed hash (HMAC-SHA-256 under a key derived from GATEHOUSE_SECRET): 50 bits would fall to an offline
 * search of a plain hash, so a stolen table alone must not be enough.
 */
export function recoveryCodeHash(secret: string, normalized: string): string {
  let key = keys.get(secret);
  if (!key) {
    key = deriveKey(secret, 'recovery-codes');
    keys.set(secret, key);
  }
  return hmac(key, normalized);
}
