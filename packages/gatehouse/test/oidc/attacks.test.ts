// What an attacker tries against the provider: PKCE downgrades, redirect URI near-misses, codes and refresh
// tokens of one client presented by another, the stored hash as a secret, client tokens at Gatehouse's API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call } from '../helpers/http.ts';
import { authorizationRequest, browse, codeFlow, oidc, REDIRECT, registerClient, relyingParty, signedInUser, startProvider, type Provider } from './harness.ts';

describe('OpenID provider: attacks', () => {
  let provider: Provider;
  let a: Awaited<ReturnType<typeof registerClient>>;
  let rpA: oidc.Configuration;
  let rpB: oidc.Configuration;
  before(async () => {
    provider = await startProvider();
    a = await registerClient(provider, { firstParty: true, name: 'A' });
    const b = await registerClient(provider, { firstParty: true, name: 'B' });
    rpA = await relyingParty(provider, a.clientId, a.secret);
    rpB = await relyingParty(provider, b.clientId, b.secret);
  });
  after(async () => {
    await provider.close();
  });

  it('PKCE: plain is refused, a missing challenge is refused, a missing or wrong verifier is refused', async () => {
    const { cookie } = await signedInUser(provider);
    const plain = await authorizationRequest(rpA, { code_challenge_method: 'plain' });
    const refusedPlain = await browse(plain.url, cookie);
    assert.equal(refusedPlain.final.searchParams.get('error'), 'invalid_request', refusedPlain.final.href);
    const none = await authorizationRequest(rpA);
    none.url.searchParams.delete('code_challenge');
    none.url.searchParams.delete('code_challenge_method');
    const refusedNone = await browse(none.url, cookie);
    assert.equal(refusedNone.final.searchParams.get('error'), 'invalid_request', refusedNone.final.href);
    const request = await authorizationRequest(rpA);
    const { final } = await browse(request.url, cookie);
    const token = (body: Record<string, string>) =>
      fetch(`${provider.issuer}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${a.clientId}:${a.secret}`).toString('base64')}` }, body: new URLSearchParams(body) });
    const code = final.searchParams.get('code')!;
    const missing = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    assert.equal(missing.status, 400);
    assert.equal((await missing.json()).error, 'invalid_grant');
    const wrong = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: oidc.randomPKCECodeVerifier() });
    assert.equal((await wrong.json()).error, 'invalid_grant');
  });

  it('redirect URI near-misses (trailing slash, another port, an extra path, another scheme) are error pages, never redirects', async () => {
    for (const uri of ['http://127.0.0.1:9/callback/', 'http://127.0.0.1:10/callback', 'http://127.0.0.1:9/callback/extra', 'https://127.0.0.1:9/callback', 'http://127.0.0.1:9/callback?x=1']) {
      const request = await authorizationRequest(rpA, { redirect_uri: uri });
      const { final, status } = await browse(request.url, null);
      assert.equal(status, 400, uri);
      assert.equal(final.origin, provider.issuer, uri);
    }
  });

  it('a code issued to client A is refused to client B', async () => {
    const { cookie } = await signedInUser(provider);
    const request = await authorizationRequest(rpA);
    const { final } = await browse(request.url, cookie);
    await assert.rejects(oidc.authorizationCodeGrant(rpB, final, { pkceCodeVerifier: request.verifier, expectedState: request.state }), (err: any) => err.error === 'invalid_grant');
  });

  it('a refresh token of client A is refused to client B', async () => {
    const { cookie } = await signedInUser(provider);
    const { tokens } = await codeFlow(provider, rpA, cookie, { scope: 'openid offline_access', prompt: 'consent' });
    await assert.rejects(oidc.refreshTokenGrant(rpB, tokens.refresh_token!), (err: any) => err.error === 'invalid_grant');
  });

  it('the stored hash is not the secret, and a wrong secret is invalid_client', async () => {
    const stored = a.client.secretHash!;
    for (const secret of [stored, `${a.secret}x`]) {
      const res = await fetch(`${provider.issuer}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${a.clientId}:${secret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error, 'invalid_client');
    }
  });

  it('a public client must use PKCE and cannot authenticate with a secret', async () => {
    const spa = await registerClient(provider, { public: true, firstParty: true, name: 'SPA' });
    assert.equal(spa.secret, null);
    const rp = await relyingParty(provider, spa.clientId, null);
    const { cookie, user } = await signedInUser(provider);
    const { tokens } = await codeFlow(provider, rp, cookie);
    assert.equal(tokens.claims()!.sub, user.id);
  });

  it('a client\'s access token is refused by Gatehouse\'s own API', async () => {
    const { cookie } = await signedInUser(provider);
    const { tokens } = await codeFlow(provider, rpA, cookie);
    const me = await call(provider.server.app, 'GET', '/auth/me', { token: tokens.access_token });
    assert.equal(me.statusCode, 401);
    const admin = await call(provider.server.app, 'GET', '/admin/users', { token: tokens.access_token });
    assert.equal(admin.statusCode, 401);
  });

  it('a client\'s JWT access token (at+jwt, signed by the same keys, aud = the issuer itself) is refused by Gatehouse\'s own API', async () => {
    const { cookie } = await signedInUser(provider);
    // The issuer as the resource: the very audience of Gatehouse's own tokens.
    const { tokens } = await codeFlow(provider, rpA, cookie, { scope: 'openid offline_access', prompt: 'consent', resource: provider.issuer });
    const jwt = await oidc.refreshTokenGrant(rpA, tokens.refresh_token!, { resource: provider.issuer });
    assert.equal(jwt.access_token.split('.').length, 3);
    for (const path of ['/auth/me', '/auth/sessions', '/admin/users']) {
      const res = await call(provider.server.app, 'GET', path, { token: jwt.access_token });
      assert.equal(res.statusCode, 401, path);
    }
  });

  it('an ID token is refused by Gatehouse\'s own API (its typ and aud are not an access token\'s)', async () => {
    const { cookie } = await signedInUser(provider);
    const { tokens } = await codeFlow(provider, rpA, cookie);
    const me = await call(provider.server.app, 'GET', '/auth/me', { token: tokens.id_token! });
    assert.equal(me.statusCode, 401);
  });
});
