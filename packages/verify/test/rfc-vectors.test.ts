// The signature layer against the RFCs' own examples: RFC 7515 Appendix A.1 (HS256), A.2 (RS256) and A.3
// (ES256), and RFC 8037 Appendix A.4 (Ed25519). Their headers carry no typ or kid and their payloads are no
// access tokens, so they are checked with verifyJwsSignature, below the access-token rules.
import assert from 'node:assert/strict';
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Algorithm } from '../src/algorithms.ts';
import { VerifyError } from '../src/errors.ts';
import { verifyJwsSignature } from '../src/verify-jws-signature.ts';

// RFC 7515 §A.1.1: the HMAC key.
const A1_KEY = { kty: 'oct', k: 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow' };
// RFC 7515 §A.1.1: the JWS Compact Serialization ({"typ":"JWT",\r\n "alg":"HS256"}).
const A1_JWS =
  'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

// RFC 7515 §A.2.1: the RSA key's public members (2048 bits).
const A2_KEY = {
  kty: 'RSA',
  n:
    'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ',
  e: 'AQAB',
};
// RFC 7515 §A.2.1: the JWS Compact Serialization ({"alg":"RS256"}).
const A2_JWS =
  'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw';

// RFC 7515 §A.3.1: the P-256 key's public members.
const A3_KEY = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
// RFC 7515 §A.3.1: the JWS Compact Serialization ({"alg":"ES256"}, signature R || S).
const A3_JWS =
  'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q';

// RFC 8037 §A.2: the Ed25519 public key.
const ED_KEY = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
// RFC 8037 §A.4: the JWS of "Example of Ed25519 signing" with {"alg":"EdDSA"}.
const ED_JWS = 'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg';

const A_PAYLOAD = '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}';

const VECTORS: Array<{ name: string; alg: Algorithm; key: KeyObject; jws: string; payload: string; header: Record<string, unknown> }> = [
  { name: 'RFC 7515 §A.1 (HS256)', alg: 'HS256', key: createSecretKey(Buffer.from(A1_KEY.k, 'base64url')), jws: A1_JWS, payload: A_PAYLOAD, header: { typ: 'JWT', alg: 'HS256' } },
  { name: 'RFC 7515 §A.2 (RS256)', alg: 'RS256', key: createPublicKey({ key: A2_KEY, format: 'jwk' }), jws: A2_JWS, payload: A_PAYLOAD, header: { alg: 'RS256' } },
  { name: 'RFC 7515 §A.3 (ES256)', alg: 'ES256', key: createPublicKey({ key: A3_KEY, format: 'jwk' }), jws: A3_JWS, payload: A_PAYLOAD, header: { alg: 'ES256' } },
  { name: 'RFC 8037 §A.4 (Ed25519)', alg: 'EdDSA', key: createPublicKey({ key: ED_KEY, format: 'jwk' }), jws: ED_JWS, payload: 'Example of Ed25519 signing', header: { alg: 'EdDSA' } },
];

/** Every algorithm allowed; the one key of the vector, whatever the kid (these examples carry none). */
const rulesFor = (key: KeyObject, algorithms: readonly Algorithm[] = ['RS256', 'ES256', 'EdDSA', 'HS256']) => ({
  algorithms: new Set(algorithms),
  keyFor: (_alg: Algorithm, kid: string | undefined) => {
    assert.equal(kid, undefined);
    return key;
  },
});

async function refusedBy(promise: Promise<unknown>, check: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VerifyError, String(err));
    assert.equal(err.code, 'invalid_token');
    assert.equal(err.check, check, err.message);
    return true;
  });
}

describe('RFC example signatures', () => {
  for (const vector of VECTORS) {
    it(`${vector.name} verifies, with its header and payload`, async () => {
      const verified = await verifyJwsSignature(vector.jws, rulesFor(vector.key));
      assert.equal(verified.alg, vector.alg);
      assert.deepEqual(verified.header, vector.header);
      assert.equal(verified.payload.toString('utf8'), vector.payload);
    });

    it(`${vector.name} with one signature byte changed is refused by the signature check`, async () => {
      const [h, p, s] = vector.jws.split('.') as [string, string, string];
      const bytes = Buffer.from(s, 'base64url');
      bytes[5]! ^= 0x01;
      await refusedBy(verifyJwsSignature(`${h}.${p}.${bytes.toString('base64url')}`, rulesFor(vector.key)), 'signature');
    });

    it(`${vector.name} with another payload is refused by the signature check`, async () => {
      const [h, , s] = vector.jws.split('.') as [string, string, string];
      const other = Buffer.from(vector.payload.replace('joe', 'eve').replace('Example', 'Exemple')).toString('base64url');
      await refusedBy(verifyJwsSignature(`${h}.${other}.${s}`, rulesFor(vector.key)), 'signature');
    });

    it(`${vector.name} is refused when ${vector.alg} is not on the list`, async () => {
      const others = (['RS256', 'ES256', 'EdDSA', 'HS256'] as const).filter((a) => a !== vector.alg);
      await refusedBy(verifyJwsSignature(vector.jws, rulesFor(vector.key, others)), 'alg');
    });
  }

  it("refuses a vector's key for another vector's algorithm (the key must suit the alg)", async () => {
    const [rs, es, ed, hs] = [VECTORS[1]!, VECTORS[2]!, VECTORS[3]!, VECTORS[0]!];
    await refusedBy(verifyJwsSignature(rs.jws, rulesFor(es.key)), 'kid');
    await refusedBy(verifyJwsSignature(es.jws, rulesFor(ed.key)), 'kid');
    await refusedBy(verifyJwsSignature(ed.jws, rulesFor(rs.key)), 'kid');
    // HS256 keyed with a public key: the algorithm-confusion attack.
    await refusedBy(verifyJwsSignature(hs.jws, rulesFor(rs.key)), 'kid');
  });
});
