// The authorization code flow end to end: openid-client against the provider inside a listening Gatehouse.
// Test names follow the OpenID Foundation's certification plan (oidcc-basic-certification-test-plan).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { browse, codeFlow, oidc, registerClient, relyingParty, signedInUser, startProvider, type Provider } from './harness.ts';

describe('OpenID provider: authorization code flow', () => {
  let provider: Provider;
  before(async () => {
    provider = await startProvider();
  });
  after(async () => {
    await provider.close();
  });

  it('oidcc-server: a first-party client signs a Gatehouse user in with code + PKCE and gets a valid ID token', async () => {
    const { clientId, secret } = await registerClient(provider, { firstParty: true });
    const rp = await relyingParty(provider, clientId, secret);
    const { user, email, cookie } = await signedInUser(provider);
    const { tokens, request } = await codeFlow(provider, rp, cookie);
    const claims = tokens.claims()!;
    assert.equal(claims.iss, provider.issuer);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.aud, clientId);
    assert.equal(claims.nonce, request.nonce);
    assert.equal(claims.email, email);
    assert.equal(typeof claims.auth_time, 'number');
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(claims.acr, 'urn:gatehouse:acr:1fa');
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.refresh_token, undefined, 'no refresh token without offline_access');
  });

  it('the discovery document is the provider\'s metadata, with the ring\'s keys', async () => {
    const res = await fetch(`${provider.issuer}/.well-known/openid-configuration`);
    const metadata = await res.json();
    assert.equal(metadata.issuer, provider.issuer);
    assert.equal(metadata.authorization_endpoint, `${provider.issuer}/oauth2/authorize`);
    assert.equal(metadata.token_endpoint, `${provider.issuer}/oauth2/token`);
    assert.equal(metadata.jwks_uri, `${provider.issuer}/.well-known/jwks.json`);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
  });

  it('signed out: the authorization request goes to the Gatehouse login page, which continues to the interaction', async () => {
    const { clientId, secret } = await registerClient(provider, { firstParty: true });
    const rp = await relyingParty(provider, clientId, secret);
    const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: 'http://127.0.0.1:9/callback', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
    const { final, status } = await browse(url, null);
    assert.equal(status, 200);
    assert.equal(final.pathname, '/login');
    assert.match(final.searchParams.get('redirect_to') ?? '', /^\/oauth2\/interaction\/[A-Za-z0-9_-]+$/);
  });
});
