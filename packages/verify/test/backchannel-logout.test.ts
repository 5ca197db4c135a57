// createLogoutTokenVerifier: a relying party's check of Gatehouse's back-channel logout tokens (OpenID Connect
// Back-Channel Logout 1.0 §2.6), against tokens signed by a real Gatehouse, and forgeries of each claim.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, importJWK, type JWK } from 'jose';
import { createLogoutTokenVerifier, createVerifier, VerifyError } from '../src/index.ts';
import { clientCredentialsToken, startGatehouse, type Gatehouse } from './helpers/gatehouse.ts';

describe('createLogoutTokenVerifier', () => {
  let gatehouse: Gatehouse;
  let clientId: string;
  before(async () => {
    gatehouse = await startGatehouse();
    clientId = (await gatehouse.registerClient({ name: 'RP', redirectUris: ['http://127.0.0.1:9/cb'], backchannelLogoutUri: 'http://127.0.0.1:9/bc' })).clientId;
  });
  after(async () => {
    await gatehouse?.close();
  });

  const receiver = () => createLogoutTokenVerifier({ issuer: gatehouse.issuer, clientId, jwksUrl: gatehouse.jwksUrl });
  const refused = (check: string) => (err: unknown) => err instanceof VerifyError && err.code === 'invalid_token' && err.check === check;

  it('accepts Gatehouse\'s token once, with sub and sid; a replay of its jti is refused', async () => {
    const verifier = receiver();
    const token = await gatehouse.logoutToken(clientId, 'user-1', 'sid-1');
    const claims = await verifier.verifyLogoutToken(token);
    assert.equal(claims.sub, 'user-1');
    assert.equal(claims.sid, 'sid-1');
    assert.equal(claims.iss, gatehouse.issuer);
    await assert.rejects(verifier.verifyLogoutToken(token), refused('claims'));
  });

  it('refuses a token for another client (aud)', async () => {
    await assert.rejects(receiver().verifyLogoutToken(await gatehouse.logoutToken('another-client', 'user-1', 'sid-1')), refused('aud'));
  });

  it('refuses an access token of the same issuer and keys (typ), and garbage', async () => {
    const worker = await gatehouse.registerClient({ name: 'W', grants: ['client_credentials'] });
    const access = await clientCredentialsToken(gatehouse, worker);
    await assert.rejects(receiver().verifyLogoutToken(access), refused('typ'));
    await assert.rejects(receiver().verifyLogoutToken(undefined), refused('format'));
    await assert.rejects(receiver().verifyLogoutToken('a.b.c'));
    assert.ok(createVerifier);
  });

  it('refuses forged tokens: a key not in the JWKS, a nonce, no events, neither sub nor sid, another issuer', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'not-gatehouse', alg: 'ES256' };
    const key = await importJWK(jwk, 'ES256');
    const forged = (claims: Record<string, unknown>) =>
      new SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sub: 'u', ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'not-gatehouse', typ: 'logout+jwt' })
        .setIssuer(typeof claims.iss === 'string' ? claims.iss : gatehouse.issuer)
        .setAudience(clientId)
        .setIssuedAt()
        .setJti(String(Math.random()))
        .sign(key);
    await assert.rejects(receiver().verifyLogoutToken(await forged({})), refused('kid'));
    // The same claim checks with a verifier that trusts this key (its JWKS served by a fake fetch).
    const trusting = createLogoutTokenVerifier({
      issuer: gatehouse.issuer,
      clientId,
      fetch: (async () => new Response(JSON.stringify({ keys: [{ ...(jwk as Record<string, unknown>), d: undefined }] }), { headers: { 'content-type': 'application/json' } })) as typeof fetch,
    });
    assert.equal((await trusting.verifyLogoutToken(await forged({}))).sub, 'u');
    await assert.rejects(trusting.verifyLogoutToken(await forged({ nonce: 'n' })), refused('claims'));
    await assert.rejects(trusting.verifyLogoutToken(await forged({ events: {} })), refused('claims'));
    await assert.rejects(trusting.verifyLogoutToken(await forged({ sub: undefined })), refused('claims'));
    await assert.rejects(trusting.verifyLogoutToken(await forged({ iss: 'https://evil.example' })), refused('iss'));
  });
});
