// Access tokens for APIs (RFC 8707 resource indicators, RFC 9068 JWTs) and the client_credentials grant: what
// a token carries, that the userinfo token of an OpenID sign-in stays usable, and that Gatehouse's own API
// refuses every client token.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { call } from '../helpers/http.ts';
import { authorizationRequest, browse, codeFlow, oidc, registerClient, relyingParty, signedInUser, startProvider, type Provider } from './harness.ts';

const API = 'https://api.example.com/';

async function clientCredentials(provider: Provider, clientId: string, secret: string, params: Record<string, string> = {}) {
  const res = await fetch(`${provider.issuer}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function refusedByGatehouse(provider: Provider, token: string) {
  for (const [method, path] of [['GET', '/auth/me'], ['GET', '/admin/users'], ['GET', '/auth/sessions']] as const) {
    const res = await call(provider.server.app, method, path, { token });
    assert.equal(res.statusCode, 401, `${path}: ${res.body}`);
  }
}

describe('OpenID provider: access tokens for APIs and client credentials', () => {
  let provider: Provider;
  let app: Awaited<ReturnType<typeof registerClient>>;
  let rp: oidc.Configuration;
  before(async () => {
    provider = await startProvider();
    app = await registerClient(provider, { firstParty: true, name: 'Web app' });
    rp = await relyingParty(provider, app.clientId, app.secret);
  });
  after(async () => {
    await provider.close();
  });

  it('an OpenID sign-in without a resource gets the opaque token for userinfo', async () => {
    const { cookie, user } = await signedInUser(provider);
    const { tokens } = await codeFlow(provider, rp, cookie);
    assert.equal(tokens.access_token.split('.').length, 1, 'opaque');
    const info = await oidc.fetchUserInfo(rp, tokens.access_token, user.id);
    assert.equal(info.sub, user.id);
  });

  it('resource at the code exchange: a JWT for that API (aud, client_id, scope, sub = the user), and a refresh with resource gets another', async () => {
    const { cookie, user } = await signedInUser(provider);
    const { tokens } = await codeFlow(provider, rp, cookie, { scope: 'openid offline_access orders:read orders:write', prompt: 'consent', resource: API }, new Map());
    // codeFlow exchanged without a resource: the userinfo token.
    assert.equal(tokens.access_token.split('.').length, 1);
    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!, { resource: API });
    const header = decodeProtectedHeader(refreshed.access_token);
    assert.equal(header.typ, 'at+jwt');
    const claims = decodeJwt(refreshed.access_token);
    assert.equal(claims.iss, provider.issuer);
    assert.equal(claims.aud, API);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.client_id, app.clientId);
    assert.deepEqual(String(claims.scope).split(' ').sort(), ['orders:read', 'orders:write']);
    assert.equal(claims.sid, undefined);
    assert.equal(claims.role, undefined);
    await refusedByGatehouse(provider, refreshed.access_token);
  });

  it('a code asked with a resource, exchanged with it, gives the API token at once', async () => {
    const { cookie, user } = await signedInUser(provider);
    const request = await authorizationRequest(rp, { scope: 'openid orders:read', resource: API });
    const { final } = await browse(request.url, cookie);
    const tokens = await oidc.authorizationCodeGrant(rp, final, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce }, { resource: API });
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims.aud, API);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.scope, 'orders:read');
    // The ID token is still the client's.
    assert.equal(tokens.claims()!.aud, app.clientId);
    // And this token is not for userinfo (oidc-provider refuses tokens with an audience there).
    await assert.rejects(oidc.fetchUserInfo(rp, tokens.access_token, user.id));
  });

  it('a resource that is not an http(s) URI is invalid_target', async () => {
    const service = await registerClient(provider, { name: 'Worker', redirectUris: [], grants: ['client_credentials'] });
    const res = await clientCredentials(provider, service.clientId, service.secret!, { resource: 'urn:example:api' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_target');
  });

  it('client_credentials: a confidential client with the grant gets a JWT whose sub is the client, aud the issuer by default or the resource asked', async () => {
    const service = await registerClient(provider, { name: 'Worker', redirectUris: [], grants: ['client_credentials'] });
    const byDefault = await clientCredentials(provider, service.clientId, service.secret!, { scope: 'reports:read' });
    assert.equal(byDefault.status, 200, JSON.stringify(byDefault.body));
    assert.equal(byDefault.body.token_type, 'Bearer');
    assert.equal(byDefault.body.refresh_token, undefined);
    const claims = decodeJwt(byDefault.body.access_token);
    assert.equal(claims.sub, service.clientId);
    assert.equal(claims.client_id, service.clientId);
    assert.equal(claims.aud, provider.issuer);
    assert.equal(claims.iss, provider.issuer);
    assert.equal(claims.scope, 'reports:read');
    await refusedByGatehouse(provider, byDefault.body.access_token);

    const forApi = await clientCredentials(provider, service.clientId, service.secret!, { scope: 'reports:read', resource: API });
    assert.equal(forApi.status, 200, JSON.stringify(forApi.body));
    const apiClaims = decodeJwt(forApi.body.access_token);
    assert.equal(apiClaims.aud, API);
    assert.equal(apiClaims.sub, service.clientId);
    await refusedByGatehouse(provider, forApi.body.access_token);

    // oidc-provider does not introspect its JWT access tokens (they are verified where they are used, with the
    // JWKS); they end at their exp, which is why they live only ACCESS_TOKEN_TTL.
    const introspected = await fetch(`${provider.issuer}/oauth2/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${service.clientId}:${service.secret}`).toString('base64')}` },
      body: new URLSearchParams({ token: forApi.body.access_token }),
    });
    assert.equal((await introspected.json()).error, 'unsupported_token_type');
  });

  it('client_credentials is refused to a client registered without it', async () => {
    const res = await clientCredentials(provider, app.clientId, app.secret!);
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request', JSON.stringify(res.body));
    assert.match(res.body.error_description, /grant type is not allowed/);
  });
});
