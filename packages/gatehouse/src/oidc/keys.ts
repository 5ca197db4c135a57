// The provider signs with Gatehouse's key ring: the same keys, the same rotation. oidc-provider takes private
// JWKs at construction and signs with the first key of the algorithm, so it gets the ring's current signer
// first, then every other published key (retired ones still verify id_token_hint; the pending one is listed
// but never first until its activation delay has passed). provider.ts rebuilds the provider when this list
// changes, which is how rotation and activation reach it.
import type { JWK } from 'jose';
import { openPrivateKey, type KeyRing, type KeyStore } from '../crypto/keys.ts';

export interface ProviderKeys {
  /** Changes whenever the signer or the published set does. */
  fingerprint: string;
  alg: string;
  keys: JWK[];
}

/** What the provider's keystore must hold now; `fingerprint` alone is cheap (no decryption). */
export function keysFingerprint(ring: KeyRing): string {
  const signer = ring.signingKey().kid;
  return [signer, ...ring.jwks().keys.map((k) => k.kid).sort()].join(' ');
}

export async function providerKeys(ring: KeyRing, store: KeyStore, secret: string): Promise<ProviderKeys> {
  const signer = ring.signingKey();
  const published = new Set(ring.jwks().keys.map((k) => k.kid));
  const records = (await store.list()).filter((r) => published.has(r.kid));
  records.sort((a, b) => (a.kid === signer.kid ? -1 : b.kid === signer.kid ? 1 : b.createdAt - a.createdAt));
  if (records[0]?.kid !== signer.kid) throw new Error('the signing key is not in the key store');
  return {
    fingerprint: keysFingerprint(ring),
    alg: signer.alg,
    keys: records.map((r) => ({ ...openPrivateKey(secret, r.privateKey), kid: r.kid, alg: r.alg, use: 'sig' })),
  };
}
