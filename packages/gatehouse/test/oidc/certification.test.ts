// The provider against the checks of the OpenID Foundation's basic OP certification plan, each test named
// after the plan's module it mirrors, driven by openid-client as a relying party would.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { endUserSessions } from '../../src/sessions/service.ts';
import { codeAt } from '../../src/methods/totp/totp.ts';
import { call, cookiesOf, expectError, PASSWORD, registerUser } from '../helpers/http.ts';
import { authorizationRequest, browse, codeFlow, jarCookies, oidc, postForm, reauthenticate, REDIRECT, registerClient, relyingParty, sessionCookie, signedInUser, startProvider, type Provider } from './harness.ts';

describe('OpenID provider: certification plan checks', () => {
  let provider: Provider;
  let rp: oidc.Configuration;
  before(async () => {
    provider = await startProvider();
    const { clientId, secret } = await registerClient(provider, { firstParty: true });
    rp = await relyingParty(provider, clientId, secret);
  });
  after(async () => {
    await provider.close();
  });

  it('oidcc-codereuse: a code works once; its second use fails and revokes the tokens of the first', async () => {
    const { cookie } = await signedInUser(provider);
    const request = await authorizationRequest(rp);
    const { final } = await browse(request.url, cookie);
    const tokens = await oidc.authorizationCodeGrant(rp, final, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    await oidc.fetchUserInfo(rp, tokens.access_token, tokens.claims()!.sub);
    await assert.rejects(oidc.authorizationCodeGrant(rp, final, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce }), (err: any) => err.error === 'invalid_grant');
    const introspected = await oidc.tokenIntrospection(rp, tokens.access_token);
    assert.equal(introspected.active, false, 'the first use\'s access token is revoked');
  });

  it('oidcc-prompt-none-not-logged-in: prompt=none without a Gatehouse session answers login_required to the client', async () => {
    const request = await authorizationRequest(rp, { prompt: 'none' });
    const { final } = await browse(request.url, null);
    assert.ok(final.href.startsWith(REDIRECT), final.href);
    assert.equal(final.searchParams.get('error'), 'login_required');
    assert.equal(final.searchParams.get('state'), request.state, 'state returned untouched');
  });

  it('prompt=none signs in again without a page once this browser has signed in to the app (silent renewal)', async () => {
    const { cookie, user } = await signedInUser(provider);
    const first = await codeFlow(provider, rp, cookie);
    const { tokens } = await codeFlow(provider, rp, cookie, { prompt: 'none' }, first.jar);
    assert.equal(tokens.claims()!.sub, user.id);
  });

  it('prompt=none after the Gatehouse session ended answers login_required (the provider follows the Gatehouse session)', async () => {
    const { cookie } = await signedInUser(provider);
    const first = await codeFlow(provider, rp, cookie);
    await endUserSessions(provider.server.runtime.ctx, first.tokens.claims()!.sub, 'logout_all');
    const request = await authorizationRequest(rp, { prompt: 'none' });
    const { final } = await browse(request.url, cookie, first.jar);
    assert.equal(final.searchParams.get('error'), 'login_required', final.href);
  });

  it('oidcc-prompt-login: prompt=login asks a signed-in user to confirm it is them, then signs in with a new auth_time', async () => {
    const { cookie } = await signedInUser(provider);
    const request = await authorizationRequest(rp, { prompt: 'login' });
    const first = await browse(request.url, cookie);
    assert.equal(first.final.pathname, '/account/reauthenticate');
    const back = first.final.searchParams.get('return_to')!;
    assert.match(back, /^\/oauth2\/interaction\//);
    await reauthenticate(provider, cookie);
    const { final } = await browse(new URL(back, provider.issuer), cookie, first.jar);
    assert.ok(final.href.startsWith(REDIRECT), final.href);
    const tokens = await oidc.authorizationCodeGrant(rp, final, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    assert.ok(tokens.claims()!.auth_time! * 1000 >= Date.now() - 5000);
  });

  it('oidcc-max-age-1: a sign-in older than max_age is confirmed again', async () => {
    const { cookie } = await signedInUser(provider);
    await sleep(1100);
    const request = await authorizationRequest(rp, { max_age: '1' });
    const first = await browse(request.url, cookie);
    assert.equal(first.final.pathname, '/account/reauthenticate');
    await reauthenticate(provider, cookie);
    const { final } = await browse(new URL(first.final.searchParams.get('return_to')!, provider.issuer), cookie, first.jar);
    const tokens = await oidc.authorizationCodeGrant(rp, final, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    assert.ok(Date.now() / 1000 - tokens.claims()!.auth_time! < 2);
  });

  it('oidcc-ensure-redirect-uri-in-authorization-request: without redirect_uri there is an error page, no redirect', async () => {
    const request = await authorizationRequest(rp);
    request.url.searchParams.delete('redirect_uri');
    const { final, status } = await browse(request.url, null);
    assert.equal(status, 400);
    assert.equal(final.origin, provider.issuer);
  });

  it('oidcc-ensure-registered-redirect-uri: an unregistered redirect_uri is an error page, never a redirect to it', async () => {
    const request = await authorizationRequest(rp, { redirect_uri: 'https://attacker.example/callback' });
    const { final, status } = await browse(request.url, null);
    assert.equal(status, 400);
    assert.equal(final.origin, provider.issuer);
  });

  it('oidcc-nonce: the ID token carries the nonce of its own request', async () => {
    const { cookie } = await signedInUser(provider);
    const a = await codeFlow(provider, rp, cookie);
    const b = await codeFlow(provider, rp, cookie);
    assert.equal(a.tokens.claims()!.nonce, a.request.nonce);
    assert.equal(b.tokens.claims()!.nonce, b.request.nonce);
    assert.notEqual(a.request.nonce, b.request.nonce);
  });

  it('oidcc-refresh-token: offline_access gives a refresh token that rotates; a rotated one presented again once its successor was used revokes the grant', async () => {
    const { cookie, user } = await signedInUser(provider);
    const { tokens } = await codeFlow(provider, rp, cookie, { scope: 'openid offline_access', prompt: 'consent' });
    assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
    assert.ok(refreshed.refresh_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'rotated');
    assert.equal(refreshed.claims()?.sub, user.id);
    // The successor used, the first token presented again is reuse (within REFRESH_REUSE_GRACE or not).
    const next = await oidc.refreshTokenGrant(rp, refreshed.refresh_token!);
    await assert.rejects(oidc.refreshTokenGrant(rp, tokens.refresh_token!), (err: any) => err.error === 'invalid_grant');
    await assert.rejects(oidc.refreshTokenGrant(rp, next.refresh_token!), (err: any) => err.error === 'invalid_grant', 'reuse revoked the successors too');
  });

  it('oidcc-userinfo-get: userinfo answers the scope\'s claims for the access token', async () => {
    const { cookie, user, email } = await signedInUser(provider);
    const { tokens } = await codeFlow(provider, rp, cookie);
    const info = await oidc.fetchUserInfo(rp, tokens.access_token, user.id);
    assert.equal(info.sub, user.id);
    assert.equal(info.email, email);
    assert.equal(info.name, 'Test User');
  });

  it('oidcc-rp-initiated-logout: logout with id_token_hint ends the Gatehouse session and returns to the registered URI with state', async () => {
    const { cookie } = await signedInUser(provider);
    const { tokens, jar } = await codeFlow(provider, rp, cookie);
    const url = oidc.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/signed-out', state: 'bye' });
    const confirm = await browse(url, cookie, jar);
    assert.equal(confirm.status, 200);
    const action = /<form[^>]*action="([^"]+)"/.exec(confirm.body)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)![1]!;
    const res = await postForm(new URL(action, provider.issuer), { xsrf, logout: 'yes' }, cookie, confirm.jar);
    assert.equal(res.status, 303);
    const to = new URL(res.headers.get('location')!);
    assert.equal(`${to.origin}${to.pathname}`, 'http://127.0.0.1:9/signed-out');
    assert.equal(to.searchParams.get('state'), 'bye');
    const me = await call(provider.server.app, 'GET', '/auth/me', { headers: { cookie } });
    assert.equal(me.statusCode, 401, 'the Gatehouse session ended');
  });

  it('oidcc-ensure-request-with-acr-values-succeeds: acr_values=mfa runs the second factor, then the ID token carries acr mfa and amr with mfa', async () => {
    const { app } = provider.server;
    const registered = await registerUser(app);
    // A browser signed in with the password alone (amr pwd), before the account had a second factor.
    const cookie = await sessionCookie(provider, registered.email);
    const started = await call(app, 'POST', '/auth/mfa/totp', { token: registered.body.accessToken, body: { name: 'phone' } });
    assert.equal(started.statusCode, 201, started.body);
    const { id, secret } = started.json();
    const confirmed = await call(app, 'POST', `/auth/mfa/totp/${id}/confirm`, { token: registered.body.accessToken, body: { code: codeAt(secret, Date.now()) } });
    assert.equal(confirmed.statusCode, 200, confirmed.body);

    // Without acr_values the password sign-in is enough: acr 1fa.
    const plain = await codeFlow(provider, rp, cookie);
    assert.equal(plain.tokens.claims()!.acr, 'urn:gatehouse:acr:1fa');
    assert.ok(!(plain.tokens.claims()!.amr as string[]).includes('mfa'));

    // acr_values=mfa: "Confirm it's you" with the second factor first.
    const request = await authorizationRequest(rp, { acr_values: 'mfa' });
    const first = await browse(request.url, cookie, plain.jar);
    assert.equal(first.final.pathname, '/account/reauthenticate', first.final.href);
    // The password alone does not do for an account with a factor.
    const csrfRes = await call(app, 'GET', '/auth/csrf', { headers: { cookie } });
    const headers = { cookie: `${cookie}; gh_csrf=${cookiesOf(csrfRes).gh_csrf!.value}`, 'x-csrf-token': csrfRes.json().csrfToken };
    expectError(await call(app, 'POST', '/auth/reauthenticate', { body: { password: PASSWORD }, headers }), 400, 'validation_failed');
    const stepUp = await call(app, 'POST', '/auth/reauthenticate', { body: { code: codeAt(secret, Date.now() + 30_000) }, headers });
    assert.equal(stepUp.statusCode, 204, stepUp.body);
    const { final } = await browse(new URL(first.final.searchParams.get('return_to')!, provider.issuer), cookie, first.jar);
    assert.ok(final.href.startsWith(REDIRECT), final.href);
    const tokens = await oidc.authorizationCodeGrant(rp, final, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    const claims = tokens.claims()!;
    assert.equal(claims.acr, 'urn:gatehouse:acr:mfa');
    assert.ok((claims.amr as string[]).includes('mfa'), `amr ${JSON.stringify(claims.amr)}`);
    assert.ok((claims.amr as string[]).includes('otp'), `amr ${JSON.stringify(claims.amr)}`);
    assert.equal(claims.sub, registered.body.user.id);

    // The session has the second factor now: the URN asks again without a page, even with prompt=none.
    const again = await codeFlow(provider, rp, cookie, { acr_values: 'urn:gatehouse:acr:mfa', prompt: 'none' }, first.jar);
    assert.equal(again.tokens.claims()!.acr, 'urn:gatehouse:acr:mfa');
  });

  it('acr_values=mfa for a user without a second factor answers unmet_authentication_requirements to the client; prompt=none answers login_required', async () => {
    const { cookie } = await signedInUser(provider);
    const signedIn = await codeFlow(provider, rp, cookie);
    const request = await authorizationRequest(rp, { acr_values: 'mfa' });
    const { final } = await browse(request.url, cookie, signedIn.jar);
    assert.ok(final.href.startsWith(REDIRECT), final.href);
    assert.equal(final.searchParams.get('error'), 'unmet_authentication_requirements');
    assert.equal(final.searchParams.get('state'), request.state);
    // prompt=none cannot run a second factor: the client hears it needs a sign-in.
    const silent = await authorizationRequest(rp, { acr_values: 'mfa', prompt: 'none' });
    const answer = await browse(silent.url, cookie, signedIn.jar);
    assert.equal(answer.final.searchParams.get('error'), 'login_required', answer.final.href);
  });

  it('a client that is not first-party asks for consent once; deny answers access_denied', async () => {
    const third = await registerClient(provider, { name: 'Third party' });
    const thirdRp = await relyingParty(provider, third.clientId, third.secret);
    const { cookie } = await signedInUser(provider);
    const request = await authorizationRequest(thirdRp);
    const page = await browse(request.url, cookie);
    assert.equal(page.status, 200);
    assert.match(page.body, /Allow Third party to use your account\?/);
    const action = /<form method="post" action="([^"]+\/consent)"/.exec(page.body)![1]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const approved = await postForm(new URL(action, provider.issuer), { _csrf: csrf, decision: 'approve' }, cookie, page.jar);
    // 200 "Continuing" with a meta refresh, not a 303: a redirect after the form POST would go on to the
    // application's origin, which the pages' CSP form-action blocks in Chromium (test/pages/oidc.test.ts).
    const done = await browse(await continuation(approved), cookie, page.jar);
    assert.ok(done.final.href.startsWith(REDIRECT), done.final.href);
    const tokens = await oidc.authorizationCodeGrant(thirdRp, done.final, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    assert.ok(tokens.id_token);
    // Once granted, the same scopes are not asked again: in this browser, nor in another one.
    assert.ok((await codeFlow(provider, thirdRp, cookie, {}, page.jar)).tokens.id_token);
    assert.ok((await codeFlow(provider, thirdRp, cookie)).tokens.id_token);
    // Another user denies.
    const other = await signedInUser(provider);
    const second = await authorizationRequest(thirdRp);
    const page2 = await browse(second.url, other.cookie);
    const csrf2 = /name="_csrf" value="([^"]+)"/.exec(page2.body)![1]!;
    const denied = await postForm(new URL(/<form method="post" action="([^"]+\/consent)"/.exec(page2.body)![1]!, provider.issuer), { _csrf: csrf2, decision: 'deny' }, other.cookie, page2.jar);
    const end = await browse(await continuation(denied), other.cookie, page2.jar);
    assert.equal(end.final.searchParams.get('error'), 'access_denied');
  });
});

/** Where the "Continuing" page after a consent POST goes on to (its meta refresh). */
async function continuation(res: Response): Promise<URL> {
  const body = await res.text();
  assert.equal(res.status, 200, body);
  const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(body);
  assert.ok(refresh, body);
  return new URL(refresh[1]!.replace(/&amp;/g, '&'));
}
