// Access tokens for APIs (RFC 8707 resource indicators, RFC 9068 JWTs) and the client_credentials grant: what
// a token carries, that the userinfo token of an OpenID sign-in stays usable, and that Gatehouse's own API
// refuses every client token.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { SqlOidcClientStore } from '../../src/db/oidc-store.ts';
import { updateClient } from '../../src/oidc/clients.ts';
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
    app = await registerClient(provider, { firstParty: true, name: 'Web app', resources: [API], scopes: ['orders:read', 'orders:write'] });
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
    const service = await registerClient(provider, { name: 'Worker', redirectUris: [], grants: ['client_credentials'], resources: [API] });
    const res = await clientCredentials(provider, service.clientId, service.secret!, { resource: 'urn:example:api' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_target');
  });

  it('client_credentials: a confidential client with the grant gets a JWT whose sub is the client, aud the issuer by default or the resource asked', async () => {
    const service = await registerClient(provider, { name: 'Worker', redirectUris: [], grants: ['client_credentials'], resources: [API], scopes: ['reports:read'] });
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

  describe('per-client allow-lists of APIs (resource indicators) and API scopes', () => {
    const ORDERS = 'https://orders.example.com';
    const BILLING = 'https://billing.example.com';

    it("a client cannot get a token for another client's API (client_credentials, authorization, code exchange, refresh): invalid_target", async () => {
      const orders = await registerClient(provider, { name: 'Orders worker', grants: ['client_credentials'], resources: [ORDERS], scopes: ['orders:read'] });
      const billing = await registerClient(provider, { firstParty: true, name: 'Billing app', grants: ['client_credentials'], resources: [BILLING], scopes: ['billing:read', 'orders:read'] });
      // Its own API: fine; the other's: refused, even with a scope both lists hold.
      assert.equal((await clientCredentials(provider, orders.clientId, orders.secret!, { resource: ORDERS, scope: 'orders:read' })).status, 200);
      for (const [who, resource] of [[billing, ORDERS], [orders, BILLING]] as const) {
        const res = await clientCredentials(provider, who.clientId, who.secret!, { resource, scope: 'orders:read' });
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error, 'invalid_target');
      }
      // At the authorization endpoint, the error goes back to the client's redirect URI.
      const { cookie } = await signedInUser(provider);
      const billingRp = await relyingParty(provider, billing.clientId, billing.secret);
      const request = await authorizationRequest(billingRp, { scope: 'openid orders:read', resource: ORDERS });
      const { final } = await browse(request.url, cookie);
      assert.equal(final.searchParams.get('error'), 'invalid_target', final.href);
      assert.equal(final.searchParams.get('state'), request.state);
      // A sign-in for its own API, then a code exchange and a refresh naming the other's: refused.
      const { tokens } = await codeFlow(provider, billingRp, cookie, { scope: 'openid offline_access billing:read', prompt: 'consent', resource: BILLING }, new Map());
      await assert.rejects(oidc.refreshTokenGrant(billingRp, tokens.refresh_token!, { resource: ORDERS }), (err: any) => err.error === 'invalid_target');
      const own = await oidc.refreshTokenGrant(billingRp, tokens.refresh_token!, { resource: BILLING });
      assert.equal(decodeJwt(own.access_token).aud, BILLING);
      assert.equal(decodeJwt(own.access_token).scope, 'billing:read');
      const code = await authorizationRequest(billingRp, { scope: 'openid billing:read', resource: BILLING });
      const back = await browse(code.url, cookie);
      await assert.rejects(
        oidc.authorizationCodeGrant(billingRp, back.final, { pkceCodeVerifier: code.verifier, expectedState: code.state, expectedNonce: code.nonce }, { resource: ORDERS }),
        (err: any) => err.error === 'invalid_target',
      );
    });

    it('an API scope the client is not allowed is invalid_scope, with or without a resource; the OpenID scopes need no listing', async () => {
      const worker = await registerClient(provider, { name: 'Reports worker', grants: ['client_credentials'], resources: [ORDERS], scopes: ['reports:read'] });
      for (const params of [{ resource: ORDERS, scope: 'reports:read admin:all' }, { scope: 'admin:all' }] as Array<Record<string, string>>) {
        const res = await clientCredentials(provider, worker.clientId, worker.secret!, params);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error, 'invalid_scope');
      }
      const web = await registerClient(provider, { firstParty: true, name: 'Web app with one scope', resources: [ORDERS], scopes: ['orders:read'] });
      const rpWeb = await relyingParty(provider, web.clientId, web.secret);
      const { cookie } = await signedInUser(provider);
      const refused = await authorizationRequest(rpWeb, { scope: 'openid orders:read orders:write', resource: ORDERS });
      assert.equal((await browse(refused.url, cookie)).final.searchParams.get('error'), 'invalid_scope');
      // Without a resource too: an unlisted API scope is refused rather than silently dropped.
      const noResource = await authorizationRequest(rpWeb, { scope: 'openid email orders:write' });
      assert.equal((await browse(noResource.url, cookie)).final.searchParams.get('error'), 'invalid_scope');
      // OpenID scopes this provider does not serve (address, phone) are ignored, not refused (Core §3.1.2.1).
      const { tokens } = await codeFlow(provider, rpWeb, cookie, { scope: 'openid email profile address phone' });
      assert.ok(tokens.id_token);
      assert.equal(tokens.claims()!.phone_number, undefined);
    });

    it('a client with no lists gets no API token: any resource is invalid_target, any API scope invalid_scope; the issuer with no scope works', async () => {
      const bare = await registerClient(provider, { name: 'Bare worker', redirectUris: [], grants: ['client_credentials'] });
      const resource = await clientCredentials(provider, bare.clientId, bare.secret!, { resource: API });
      assert.equal(resource.body.error, 'invalid_target');
      const scope = await clientCredentials(provider, bare.clientId, bare.secret!, { scope: 'reports:read' });
      assert.equal(scope.body.error, 'invalid_scope');
      const plain = await clientCredentials(provider, bare.clientId, bare.secret!);
      assert.equal(plain.status, 200, JSON.stringify(plain.body));
      assert.equal(decodeJwt(plain.body.access_token).aud, provider.issuer);
      assert.equal(decodeJwt(plain.body.access_token).scope, undefined);
    });

    it('taking a scope off the list stops it at the next refresh, even though the grant holds it', async () => {
      const deps = { clients: new SqlOidcClientStore(provider.server.runtime.database.db), now: provider.server.runtime.ctx.now };
      const web = await registerClient(provider, { firstParty: true, name: 'Shrinking app', resources: [ORDERS], scopes: ['orders:read', 'orders:write'] });
      const rpWeb = await relyingParty(provider, web.clientId, web.secret);
      const { cookie } = await signedInUser(provider);
      const { tokens } = await codeFlow(provider, rpWeb, cookie, { scope: 'openid offline_access orders:read orders:write', prompt: 'consent', resource: ORDERS }, new Map());
      const before = await oidc.refreshTokenGrant(rpWeb, tokens.refresh_token!, { resource: ORDERS });
      assert.deepEqual(String(decodeJwt(before.access_token).scope).split(' ').sort(), ['orders:read', 'orders:write']);
      await updateClient(deps, web.clientId, { scopes: ['orders:read'] });
      const after = await oidc.refreshTokenGrant(rpWeb, before.refresh_token!, { resource: ORDERS });
      assert.equal(decodeJwt(after.access_token).scope, 'orders:read');
      await updateClient(deps, web.clientId, { resources: [] });
      await assert.rejects(oidc.refreshTokenGrant(rpWeb, after.refresh_token!, { resource: ORDERS }), (err: any) => err.error === 'invalid_target');
      // Refused before the rotation: the refresh token was not spent and still gives the userinfo token.
      const plain = await oidc.refreshTokenGrant(rpWeb, after.refresh_token!);
      assert.equal(plain.access_token.split('.').length, 1);
    });
  });

  it('client_credentials is refused to a client registered without it', async () => {
    const res = await clientCredentials(provider, app.clientId, app.secret!);
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request', JSON.stringify(res.body));
    assert.match(res.body.error_description, /grant type is not allowed/);
  });
});
