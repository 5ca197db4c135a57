// The signature layer of a compact JWS (RFC 7515 §5.2): the algorithm must be on the caller's list, the key
// comes from the caller's own lookup, never from the token (`jku`, `x5u`, `jwk` and `x5c` are not looked at),
// and the key must suit the algorithm. Nothing about claims: the access-token rules sit on top of this.
import type { KeyObject } from 'node:crypto';
import { ALGORITHMS, isAlgorithm, type Algorithm } from './algorithms.ts';
import { MAX_KID_LENGTH, decodeCompactJws, type CompactJws } from './compact-jws.ts';
import { VerifyError } from './errors.ts';

/** The key that verifies `alg` under `kid` (undefined when the header names none), or null when there is none. */
export type KeyLookup = (alg: Algorithm, kid: string | undefined) => KeyObject | null | Promise<KeyObject | null>;

export interface SignatureRules {
  /** The accepted algorithms: anything else is refused before a key is looked up. */
  algorithms: { has(alg: Algorithm): boolean };
  keyFor: KeyLookup;
}

export type VerifiedJws = CompactJws & { alg: Algorithm };

const refuse = (check: 'alg' | 'crit' | 'kid' | 'signature', message: string) => new VerifyError('invalid_token', { check, message });

/** Checks the header's `alg`, `crit` and `kid`, then the signature; `checkHeader` adds rules before any crypto. */
export async function verifyJwsSignature(token: string, rules: SignatureRules, checkHeader?: (header: Record<string, unknown>) => void): Promise<VerifiedJws> {
  const jws = decodeCompactJws(token);
  const { alg, kid, crit } = jws.header;
  if (!isAlgorithm(alg) || !rules.algorithms.has(alg)) throw refuse('alg', 'The token is signed with an algorithm that is not accepted');
  // RFC 7515 §4.1.11: we understand no extension, so a token that requires one is refused.
  if (crit !== undefined) throw refuse('crit', 'The token requires an unsupported extension');
  checkHeader?.(jws.header);
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)) throw refuse('kid', 'The token names no usable key (kid)');
  const key = await rules.keyFor(alg, kid);
  if (!key || !ALGORITHMS[alg].accepts(key)) throw refuse('kid', 'The token is signed with an unknown key');
  if (!signatureMatches(alg, jws, key)) throw refuse('signature', 'The access token signature is not valid');
  return { ...jws, alg };
}

function signatureMatches(alg: Algorithm, jws: CompactJws, key: KeyObject): boolean {
  try {
    return ALGORITHMS[alg].verify(jws.signingInput, jws.signature, key);
  } catch {
    // A malformed signature makes OpenSSL throw rather than answer false.
    return false;
  }
}
