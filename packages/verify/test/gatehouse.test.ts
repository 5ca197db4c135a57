// The verifier against a real Gatehouse listening on loopback: its tokens, its JWKS, its key rotation.
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createVerifier, VerifyError, type VerifierOptions } from '../src/index.ts';
import { b64, decode, generate, hs256, signWith } from './helpers/forge.ts';
import { signUp, startGatehouse, type Gatehouse } from './helpers/gatehouse.ts';

let gatehouse: Gatehouse;
before(async () => {
  gatehouse = await startGatehouse({ fakeClock: Date.now() });
});
after(() => gatehouse.close());

/** A fetch that forwards to the real one and counts JWKS requests. */
function countingFetch(): typeof fetch & { jwks: number } {
  const counted = (async (input: string | URL | Request, init?: RequestInit) => {
    if (String(input instanceof Request ? input.url : input).endsWith('/.well-known/jwks.json')) counted.jwks += 1;
    return fetch(input, init);
  }) as typeof fetch & { jwks: number };
  counted.jwks = 0;
  return counted;
}

const verifierFor = (g: Gatehouse, options: Partial<VerifierOptions> = {}) =>
  createVerifier({ issuer: g.issuer, audience: g.issuer, jwksUrl: g.jwksUrl, ...options });

async function rejects(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VerifyError, `expected a VerifyError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('a Gatehouse access token', () => {
  it('verifies, and its claims come back typed', async () => {
    const { accessToken, user } = await signUp(gatehouse);
    const claims = await verifierFor(gatehouse).verifyAccessToken(accessToken);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.role, 'user');
    assert.equal(claims.iss, gatehouse.issuer);
    assert.equal(claims.aud, gatehouse.issuer);
    assert.equal(typeof claims.sid, 'string');
    assert.equal(typeof claims.jti, 'string');
    assert.equal(claims.exp - claims.iat, gatehouse.config.accessTokenTtlMs / 1000);
    assert.ok(Object.isFrozen(claims), 'the cached claims cannot be changed by one caller for the next');
  });

  it('fetches the JWKS from <issuer>/.well-known/jwks.json when no jwksUrl is given', async () => {
    const { accessToken } = await signUp(gatehouse);
    const urls: string[] = [];
    const verifier = createVerifier({
      issuer: gatehouse.issuer,
      audience: gatehouse.issuer,
      fetch: async (input) => {
        urls.push(String(input));
        return fetch(gatehouse.jwksUrl);
      },
    });
    await verifier.verifyAccessToken(accessToken);
    assert.deepEqual(urls, [`${gatehouse.issuer}/.well-known/jwks.json`]);
  });

  it('is token_expired after its exp, also when it was cached', async () => {
    const { accessToken } = await signUp(gatehouse);
    const { exp } = decode(accessToken).payload as { exp: number };
    let now = Date.now();
    const verifier = verifierFor(gatehouse, { now: () => now, clockToleranceSec: 0 });
    await verifier.verifyAccessToken(accessToken);
    now = exp * 1000;
    await rejects(verifier.verifyAccessToken(accessToken), 'token_expired');
    // A fresh verifier (no cache) says the same.
    await rejects(verifierFor(gatehouse, { now: () => now, clockToleranceSec: 0 }).verifyAccessToken(accessToken), 'token_expired');
  });

  it('is token_expired when Gatehouse signed it an hour ago, with the clock tolerance applied', async () => {
    const clock = gatehouse.clock!;
    const realNow = clock.now;
    clock.now = Date.now() - 60 * 60_000;
    let old: string;
    try {
      old = (await signUp(gatehouse)).accessToken;
    } finally {
      clock.now = realNow;
    }
    await rejects(verifierFor(gatehouse).verifyAccessToken(old), 'token_expired');
    const exp = (decode(old).payload as { exp: number }).exp;
    // Three seconds past exp: inside a 5 s tolerance, outside a 0 s one.
    await verifierFor(gatehouse, { now: () => exp * 1000 + 3000, clockToleranceSec: 5 }).verifyAccessToken(old);
    await rejects(verifierFor(gatehouse, { now: () => exp * 1000 + 3000, clockToleranceSec: 0 }).verifyAccessToken(old), 'token_expired');
  });

  it('is invalid_token for another audience or another issuer', async () => {
    const { accessToken } = await signUp(gatehouse);
    await rejects(verifierFor(gatehouse, { audience: 'https://other-api.example' }).verifyAccessToken(accessToken), 'invalid_token', /audience/);
    await rejects(verifierFor(gatehouse, { issuer: 'https://evil.example' }).verifyAccessToken(accessToken), 'invalid_token', /issuer/);
    // A list of accepted audiences that includes Gatehouse's.
    await verifierFor(gatehouse, { audience: ['https://other-api.example', gatehouse.issuer] }).verifyAccessToken(accessToken);
  });

  it('is invalid_token when its payload was changed (forged role), even after the real one was cached', async () => {
    const { accessToken } = await signUp(gatehouse);
    const verifier = verifierFor(gatehouse);
    await verifier.verifyAccessToken(accessToken);
    const [header, , signature] = accessToken.split('.');
    const forged = `${header}.${b64({ ...decode(accessToken).payload, role: 'admin' })}.${signature}`;
    await rejects(verifier.verifyAccessToken(forged), 'invalid_token', /signature/);
  });

  it('is invalid_token when signed by another key under Gatehouse\'s kid', async () => {
    const { accessToken } = await signUp(gatehouse);
    const { header, payload } = decode(accessToken);
    const forged = signWith('RS256', generate('RS256').privateKey, header, { ...payload, role: 'admin' });
    await rejects(verifierFor(gatehouse).verifyAccessToken(forged), 'invalid_token', /signature/);
  });

  it('refuses alg "none", with or without a signature, and refuses to be configured for it', async () => {
    const { accessToken } = await signUp(gatehouse);
    const { header, payload } = decode(accessToken);
    const verifier = verifierFor(gatehouse);
    const unsigned = `${b64({ ...header, alg: 'none' })}.${b64({ ...payload, role: 'admin' })}`;
    await rejects(verifier.verifyAccessToken(`${unsigned}.`), 'invalid_token');
    await rejects(verifier.verifyAccessToken(`${unsigned}.${accessToken.split('.')[2]}`), 'invalid_token', /algorithm/);
    await rejects(verifier.verifyAccessToken(`${b64({ ...header, alg: 'None' })}.${b64(payload)}.`), 'invalid_token');
    assert.throws(() => verifierFor(gatehouse, { algorithms: ['none' as never] }), TypeError);
  });

  it('refuses HS256 signed with Gatehouse\'s public key (algorithm confusion)', async () => {
    const { accessToken } = await signUp(gatehouse);
    const { header, payload } = decode(accessToken);
    const jwks = (await (await fetch(gatehouse.jwksUrl)).json()) as { keys: Array<Record<string, unknown>> };
    const jwk = jwks.keys.find((k) => k.kid === header.kid)!;
    const publicKey = createPublicKey({ key: jwk as any, format: 'jwk' });
    const claims = { ...payload, role: 'admin' };
    // Every form a naive library might take the "secret" from.
    for (const secret of [
      publicKey.export({ type: 'spki', format: 'pem' }) as string,
      publicKey.export({ type: 'pkcs1', format: 'pem' }) as string,
      publicKey.export({ type: 'spki', format: 'der' }) as Buffer,
      JSON.stringify(jwk),
    ]) {
      const forged = hs256(secret, { ...header, alg: 'HS256' }, claims);
      await rejects(verifierFor(gatehouse).verifyAccessToken(forged), 'invalid_token', /algorithm/);
      // Even a verifier that accepts HS256 only checks it with its own secret, never with a JWKS key.
      const hsVerifier = verifierFor(gatehouse, { algorithms: ['RS256', 'HS256'], secret: 'an-unrelated-hs256-secret-0123456789abcdef' });
      await rejects(hsVerifier.verifyAccessToken(forged), 'invalid_token', /signature/);
    }
  });

  it('ignores jku, x5u and embedded jwk headers: keys come only from the configured JWKS', async () => {
    const { accessToken } = await signUp(gatehouse);
    const { payload } = decode(accessToken);
    const attacker = generate('RS256');
    const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: 'attacker', alg: 'RS256', use: 'sig' };
    let attackerHits = 0;
    const attackerJwks = createServer((_req, res) => {
      attackerHits += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [attackerJwk] }));
    });
    await new Promise<void>((resolve) => attackerJwks.listen(0, '127.0.0.1', resolve));
    const { port } = attackerJwks.address() as { port: number };
    try {
      const verifier = verifierFor(gatehouse);
      await verifier.verifyAccessToken(accessToken);
      const claims = { ...payload, role: 'admin', jti: randomUUID() };
      const base = { alg: 'RS256', typ: 'at+jwt', jku: `http://127.0.0.1:${port}/jwks.json`, x5u: `http://127.0.0.1:${port}/cert.pem`, jwk: attackerJwk };
      await rejects(verifier.verifyAccessToken(signWith('RS256', attacker.privateKey, { ...base, kid: 'attacker' }, claims)), 'invalid_token', /unknown key/);
      const realKid = decode(accessToken).header.kid;
      await rejects(verifier.verifyAccessToken(signWith('RS256', attacker.privateKey, { ...base, kid: realKid }, claims)), 'invalid_token', /signature/);
      assert.equal(attackerHits, 0, 'the jku / x5u URL was never fetched');
    } finally {
      attackerJwks.close();
    }
  });

  it('is invalid_token without the at+jwt typ (an id token or another JWT of the same issuer)', async () => {
    const { accessToken } = await signUp(gatehouse);
    const { header, payload } = decode(accessToken);
    const verifier = verifierFor(gatehouse);
    // Re-signing needs Gatehouse's private key, which we do not have: a changed header breaks the signature
    // first. What matters is that the typ check runs before the key is even looked up.
    await rejects(verifier.verifyAccessToken(`${b64({ ...header, typ: 'JWT' })}.${b64(payload)}.${accessToken.split('.')[2]}`), 'invalid_token', /typ/);
  });
});

describe('key rotation', () => {
  it('verifies a token signed by a new key without a restart, and still the old key\'s tokens', async () => {
    let now = Date.now();
    const counting = countingFetch();
    const verifier = verifierFor(gatehouse, { fetch: counting, now: () => now, cooldownMs: 30_000 });
    const before = await signUp(gatehouse);
    await verifier.verifyAccessToken(before.accessToken);
    const rotated = await gatehouse.rotateKey();
    const after = await signUp(gatehouse);
    assert.equal(decode(after.accessToken).header.kid, rotated.kid);
    // Inside the cooldown the new kid is unknown and no fetch is made...
    await rejects(verifier.verifyAccessToken(after.accessToken), 'invalid_token', /unknown key/);
    assert.equal(counting.jwks, 1);
    // ...once it has passed, the first token with the new kid refetches once, and every request that
    // arrives while that fetch runs waits for it rather than being refused.
    now += 30_000;
    const all = await Promise.all(Array.from({ length: 50 }, () => verifier.verifyAccessToken(after.accessToken)));
    for (const claims of all) assert.equal(claims.sub, after.user.id);
    assert.equal(counting.jwks, 2);
    await verifier.verifyAccessToken(before.accessToken);
    assert.equal(counting.jwks, 2);
  });

  it('an unknown-kid storm costs at most one JWKS fetch per cooldown', async () => {
    let now = Date.now();
    const counting = countingFetch();
    const verifier = verifierFor(gatehouse, { fetch: counting, now: () => now, cooldownMs: 30_000 });
    const { accessToken } = await signUp(gatehouse);
    const { header, payload } = decode(accessToken);
    const attacker = generate('ES256');
    const storm = () =>
      Promise.allSettled(
        Array.from({ length: 1000 }, () => verifier.verifyAccessToken(signWith('ES256', attacker.privateKey, { ...header, alg: 'ES256', kid: randomUUID() }, payload))),
      );
    const expectAllInvalid = (results: PromiseSettledResult<unknown>[]) => {
      assert.equal(results.length, 1000);
      for (const r of results) assert.ok(r.status === 'rejected' && r.reason instanceof VerifyError && r.reason.code === 'invalid_token');
    };

    // Cold: the first fetch is shared by all 1,000.
    expectAllInvalid(await storm());
    assert.equal(counting.jwks, 1);
    // Within the cooldown: none.
    now += 29_000;
    expectAllInvalid(await storm());
    assert.equal(counting.jwks, 1);
    // The cooldown has passed: exactly one more for the next 1,000.
    now += 1_000;
    expectAllInvalid(await storm());
    assert.equal(counting.jwks, 2);
    // And the real token still verifies.
    await verifier.verifyAccessToken(accessToken);
    assert.equal(counting.jwks, 2);
  });

  it('answers service_unavailable while the JWKS cannot be fetched, and recovers', async () => {
    const { accessToken } = await signUp(gatehouse);
    let now = Date.now();
    let up = false;
    const verifier = verifierFor(gatehouse, {
      now: () => now,
      fetch: async (input, init) => (up ? fetch(input, init) : new Response('down', { status: 502 })),
    });
    await rejects(verifier.verifyAccessToken(accessToken), 'service_unavailable');
    up = true;
    now += 1000;
    await verifier.verifyAccessToken(accessToken);
  });
});

describe('other algorithms of Gatehouse', () => {
  for (const alg of ['ES256', 'EdDSA'] as const) {
    it(`${alg}: verifies with the default algorithm list`, async () => {
      const g = await startGatehouse({ env: { JWT_ALG: alg } });
      try {
        const { accessToken, user } = await signUp(g);
        assert.equal(decode(accessToken).header.alg, alg);
        assert.equal((await verifierFor(g).verifyAccessToken(accessToken)).sub, user.id);
        await rejects(verifierFor(g, { algorithms: ['RS256'] }).verifyAccessToken(accessToken), 'invalid_token', /algorithm/);
      } finally {
        await g.close();
      }
    });
  }

  it('HS256: verifies with the shared secret only', async () => {
    const secret = `hs256-verify-test-${randomUUID()}`;
    const g = await startGatehouse({ env: { JWT_ALG: 'HS256', JWT_SECRET: secret } });
    try {
      const { accessToken, user } = await signUp(g);
      assert.equal((await verifierFor(g, { secret }).verifyAccessToken(accessToken)).sub, user.id);
      await rejects(verifierFor(g, { secret: `${secret}-wrong` }).verifyAccessToken(accessToken), 'invalid_token', /signature/);
      await rejects(verifierFor(g).verifyAccessToken(accessToken), 'invalid_token', /algorithm/);
      // The HMAC is compared over the exact bytes: one flipped bit of the signature is refused.
      const [h, p, s] = accessToken.split('.');
      const sig = Buffer.from(s!, 'base64url');
      sig[0]! ^= 1;
      await rejects(verifierFor(g, { secret }).verifyAccessToken(`${h}.${p}.${sig.toString('base64url')}`), 'invalid_token');
      assert.equal(createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url'), s, 'Gatehouse signs HS256 with JWT_SECRET as UTF-8 bytes');
    } finally {
      await g.close();
    }
  });
});
