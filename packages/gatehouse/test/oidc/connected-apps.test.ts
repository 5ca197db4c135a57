// Connected apps: GET /auth/apps lists what the user let sign in, DELETE /auth/apps/:clientId and the
// "Revoke" button on /account take it back, and the app's refresh and userinfo tokens stop working at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, cookiesOf } from '../helpers/http.ts';
import { browse, codeFlow, oidc, postForm, registerClient, relyingParty, signedInUser, startProvider, type Provider } from './harness.ts';

describe('OpenID provider: connected apps', () => {
  let provider: Provider;
  let client: Awaited<ReturnType<typeof registerClient>>;
  let rp: oidc.Configuration;
  before(async () => {
    provider = await startProvider();
    client = await registerClient(provider, { firstParty: true, name: 'Photo printer' });
    rp = await relyingParty(provider, client.clientId, client.secret);
  });
  after(async () => {
    await provider.close();
  });

  /** A cookie-authenticated API call with the CSRF double submit, as a page script would make it. */
  async function withCsrf(method: 'GET' | 'DELETE', path: string, cookie: string) {
    const { app } = provider.server;
    const csrfRes = await call(app, 'GET', '/auth/csrf', { headers: { cookie } });
    const csrfCookie = cookiesOf(csrfRes).gh_csrf!.value;
    return call(app, method, path, { headers: { cookie: `${cookie}; gh_csrf=${csrfCookie}`, 'x-csrf-token': csrfRes.json().csrfToken } });
  }

  it('lists the app with its scopes; DELETE revokes it, ends its refresh and userinfo tokens, and a second DELETE is 404', async () => {
    const { cookie, user } = await signedInUser(provider);
    const empty = await call(provider.server.app, 'GET', '/auth/apps', { headers: { cookie } });
    assert.equal(empty.statusCode, 200, empty.body);
    assert.deepEqual(empty.json(), { apps: [] });

    const { tokens } = await codeFlow(provider, rp, cookie, { scope: 'openid email offline_access', prompt: 'consent' });
    const listed = await call(provider.server.app, 'GET', '/auth/apps', { headers: { cookie } });
    assert.equal(listed.statusCode, 200);
    const { apps } = listed.json();
    assert.equal(apps.length, 1);
    assert.equal(apps[0].clientId, client.clientId);
    assert.equal(apps[0].name, 'Photo printer');
    assert.deepEqual(apps[0].scopes, ['email', 'offline_access', 'openid']);
    assert.ok(Math.abs(Date.parse(apps[0].grantedAt) - Date.now()) < 60_000);
    // The account export holds the same list (a fresh sign-in, so no step-up is needed).
    const exported = await call(provider.server.app, 'GET', '/auth/export', { headers: { cookie } });
    assert.equal(exported.statusCode, 200, exported.body);
    assert.deepEqual(exported.json().connectedApps, apps);

    // Another user sees nothing of it, and cannot revoke it.
    const other = await signedInUser(provider);
    assert.deepEqual((await call(provider.server.app, 'GET', '/auth/apps', { headers: { cookie: other.cookie } })).json(), { apps: [] });
    assert.equal((await withCsrf('DELETE', `/auth/apps/${client.clientId}`, other.cookie)).statusCode, 404);

    // Without the CSRF header, a cookie-authenticated DELETE is refused.
    assert.equal((await call(provider.server.app, 'DELETE', `/auth/apps/${client.clientId}`, { headers: { cookie } })).statusCode, 403);

    const revoked = await withCsrf('DELETE', `/auth/apps/${client.clientId}`, cookie);
    assert.equal(revoked.statusCode, 204, revoked.body);
    await assert.rejects(oidc.refreshTokenGrant(rp, tokens.refresh_token!), (err: any) => err.error === 'invalid_grant');
    await assert.rejects(oidc.fetchUserInfo(rp, tokens.access_token, user.id));
    assert.deepEqual((await call(provider.server.app, 'GET', '/auth/apps', { headers: { cookie } })).json(), { apps: [] });
    assert.equal((await withCsrf('DELETE', `/auth/apps/${client.clientId}`, cookie)).statusCode, 404);
  });

  it('needs a signed-in person: no credentials is 401', async () => {
    assert.equal((await call(provider.server.app, 'GET', '/auth/apps')).statusCode, 401);
    assert.equal((await call(provider.server.app, 'DELETE', '/auth/apps/whatever')).statusCode, 401);
  });

  it('/account shows the section with a Revoke button that disconnects the app', async () => {
    const { cookie } = await signedInUser(provider);
    const { tokens } = await codeFlow(provider, rp, cookie, { scope: 'openid profile offline_access', prompt: 'consent' });
    const page = await browse(new URL('/account', provider.issuer), cookie);
    assert.equal(page.status, 200);
    assert.match(page.body, /<h2 id="apps-h">Connected apps<\/h2>/);
    assert.match(page.body, /Photo printer/);
    const form = /<form method="post" action="\/account\/apps\/revoke"><input type="hidden" name="_csrf" value="([^"]+)"><input type="hidden" name="clientId" value="([^"]+)">/.exec(page.body);
    assert.ok(form, 'the revoke form');
    assert.equal(form[2], client.clientId);
    const posted = await postForm(new URL('/account/apps/revoke', provider.issuer), { _csrf: form[1]!, clientId: client.clientId }, cookie, page.jar);
    assert.equal(posted.status, 303, await posted.text());
    assert.equal(posted.headers.get('location'), '/account#apps');
    await assert.rejects(oidc.refreshTokenGrant(rp, tokens.refresh_token!), (err: any) => err.error === 'invalid_grant');
    const after = await browse(new URL('/account', provider.issuer), cookie, page.jar);
    assert.match(after.body, /The app is disconnected/);
    assert.match(after.body, /No app signs in with your account/);
    // A forged form (no CSRF token) is refused.
    const forged = await postForm(new URL('/account/apps/revoke', provider.issuer), { clientId: client.clientId }, cookie, new Map());
    assert.equal(forged.status, 403);
  });
});
