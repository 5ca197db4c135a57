// Attack catalogue: cookie tossing and CSRF-nonce fixation. Over https the session cookie is
// `__Host-gh_session` (Secure, Path=/, no Domain), like the CSRF cookie, so a sibling subdomain can neither
// plant one nor shadow ours, and every reader (API guard, pages, logout) uses that one name. Every sign-in
// (login, registration, social exchange, the pages' form) also sets a new CSRF nonce, so a CSRF token obtained
// before signing in (say, for a nonce an attacker planted) does not work after; a refresh keeps the nonce.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, cookiesOf, registerUser, uniqueEmail } from '../helpers/http.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A CSRF nonce and its token as the named cookie holds them. */
async function csrfPair(server: TestServer, cookieName: string, cookies: Record<string, string> = {}) {
  const res = await call(server.app, 'GET', '/auth/csrf', { cookies });
  assert.equal(res.statusCode, 200, res.body);
  return { token: res.json().csrfToken as string, nonce: cookiesOf(res)[cookieName]?.value ?? cookies[cookieName]! };
}

describe('over https the session cookie is __Host-', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { PUBLIC_URL: 'https://auth.example.com' } });
  });
  after(() => server.close());

  it('a session-mode login sets __Host-gh_session; Path=/; Secure; no Domain, and no unprefixed cookie', async () => {
    const { email } = await registerUser(server.app);
    const res = await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD, mode: 'session' } });
    assert.equal(res.statusCode, 200, res.body);
    const cookies = cookiesOf(res);
    const session = cookies['__Host-gh_session'];
    assert.ok(session, `Set-Cookie: ${JSON.stringify(res.headers['set-cookie'])}`);
    assert.match(session.raw, /^__Host-gh_session=[^;]+;/);
    assert.match(session.raw, /; Path=\/(;|$)/);
    assert.match(session.raw, /; Secure(;|$)/);
    assert.match(session.raw, /; HttpOnly(;|$)/);
    assert.match(session.raw, /; SameSite=Lax(;|$)/);
    assert.doesNotMatch(session.raw, /Domain=/i);
    assert.equal(cookies.gh_session, undefined);
  });

  it('the __Host- cookie authenticates the API and the pages; the unprefixed name does not', async () => {
    const { email } = await registerUser(server.app);
    const login = await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD, mode: 'session' } });
    const value = cookiesOf(login)['__Host-gh_session']!.value;

    const me = await call(server.app, 'GET', '/auth/me', { cookies: { '__Host-gh_session': value } });
    assert.equal(me.statusCode, 200, me.body);
    assert.equal(me.json().user.email, email);
    const page = await call(server.app, 'GET', '/account', { cookies: { '__Host-gh_session': value } });
    assert.equal(page.statusCode, 200, 'the account page sees the signed-in user');

    // A cookie a sibling subdomain could have set (no prefix) is not read at all.
    const tossed = await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: value } });
    assert.equal(tossed.statusCode, 401);
    assert.equal(tossed.json().error.code, 'authentication_required');
    const tossedPage = await call(server.app, 'GET', '/account', { cookies: { gh_session: value } });
    assert.equal(tossedPage.statusCode, 303, 'the pages do not read it either');
  });

  it('logout with the __Host- cookie ends the session and clears that cookie', async () => {
    const { email } = await registerUser(server.app);
    const login = await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD, mode: 'session' } });
    const session = cookiesOf(login)['__Host-gh_session']!.value;
    const csrf = await csrfPair(server, '__Host-gh_csrf', { '__Host-gh_csrf': cookiesOf(login)['__Host-gh_csrf']!.value });
    const out = await call(server.app, 'POST', '/auth/logout', {
      cookies: { '__Host-gh_session': session, '__Host-gh_csrf': csrf.nonce },
      headers: { 'x-csrf-token': csrf.token },
    });
    assert.equal(out.statusCode, 204, out.body);
    assert.match(cookiesOf(out)['__Host-gh_session']!.raw, /Expires=Thu, 01 Jan 1970/);
    assert.equal((await call(server.app, 'GET', '/auth/me', { cookies: { '__Host-gh_session': session } })).statusCode, 401);
  });

  it('the CSRF nonce is rotated under its __Host- name too', async () => {
    const before = await csrfPair(server, '__Host-gh_csrf');
    const { email } = await registerUser(server.app);
    const login = await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD, mode: 'session' }, cookies: { '__Host-gh_csrf': before.nonce } });
    const rotated = cookiesOf(login)['__Host-gh_csrf'];
    assert.ok(rotated);
    assert.notEqual(rotated.value, before.nonce);
    assert.match(rotated.raw, /; Path=\/(;|$)/);
    assert.match(rotated.raw, /; Secure(;|$)/);
  });
});

describe('every sign-in rotates the CSRF nonce', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('a token fetched before a session-mode login no longer passes after it; a fresh one does', async () => {
    const { email } = await registerUser(server.app, { name: 'Before' });
    // The nonce may have been planted: the attacker knows it and its token.
    const before = await csrfPair(server, 'gh_csrf');
    const login = await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD, mode: 'session' }, cookies: { gh_csrf: before.nonce } });
    assert.equal(login.statusCode, 200, login.body);
    const after = cookiesOf(login);
    const nonce = after.gh_csrf!.value;
    assert.notEqual(nonce, before.nonce, 'a new nonce at sign-in');
    assert.match(nonce, /^[A-Za-z0-9_-]{43}$/);
    const session = after.gh_session!.value;

    const stale = await call(server.app, 'PATCH', '/auth/me', { cookies: { gh_session: session, gh_csrf: nonce }, headers: { 'x-csrf-token': before.token }, body: { name: 'Forged' } });
    assert.equal(stale.statusCode, 403, stale.body);
    assert.equal(stale.json().error.code, 'csrf_failed');

    const fresh = await csrfPair(server, 'gh_csrf', { gh_csrf: nonce });
    assert.equal(fresh.nonce, nonce, 'the new nonce is kept by /auth/csrf');
    const patched = await call(server.app, 'PATCH', '/auth/me', { cookies: { gh_session: session, gh_csrf: nonce }, headers: { 'x-csrf-token': fresh.token }, body: { name: 'After' } });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().user.name, 'After');
  });

  it('a session-mode registration rotates it too', async () => {
    const before = await csrfPair(server, 'gh_csrf');
    const res = await call(server.app, 'POST', '/auth/register', { body: { email: uniqueEmail(), password: PASSWORD, mode: 'session' }, cookies: { gh_csrf: before.nonce } });
    assert.equal(res.statusCode, 201, res.body);
    const cookies = cookiesOf(res);
    assert.ok(cookies.gh_session);
    assert.ok(cookies.gh_csrf && cookies.gh_csrf.value !== before.nonce);
  });

  it('a cookie-mode login rotates it; a refresh keeps it, so the same token refreshes twice', async () => {
    const { email } = await registerUser(server.app);
    const before = await csrfPair(server, 'gh_csrf');
    const login = await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD, mode: 'cookie' }, cookies: { gh_csrf: before.nonce } });
    assert.equal(login.statusCode, 200, login.body);
    const nonce = cookiesOf(login).gh_csrf!.value;
    assert.notEqual(nonce, before.nonce);
    let refresh = cookiesOf(login).gh_refresh!.value;

    const stale = await call(server.app, 'POST', '/auth/refresh', { cookies: { gh_refresh: refresh, gh_csrf: nonce }, headers: { 'x-csrf-token': before.token }, body: {} });
    assert.equal(stale.statusCode, 403, stale.body);

    const { token } = await csrfPair(server, 'gh_csrf', { gh_csrf: nonce });
    for (let i = 0; i < 2; i += 1) {
      const res = await call(server.app, 'POST', '/auth/refresh', { cookies: { gh_refresh: refresh, gh_csrf: nonce }, headers: { 'x-csrf-token': token }, body: {} });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(cookiesOf(res).gh_csrf, undefined, 'a refresh does not touch the nonce');
      refresh = cookiesOf(res).gh_refresh!.value;
    }
  });

  it('a token-mode login sets no cookie at all', async () => {
    const { email } = await registerUser(server.app);
    const res = await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['set-cookie'], undefined);
  });

  it('the sign-in page rotates it: the form token of the login page does not work on the account page', async () => {
    const { email } = await registerUser(server.app);
    const page = await call(server.app, 'GET', '/login');
    const nonce = cookiesOf(page).gh_csrf!.value;
    const formToken = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const login = await call(server.app, 'POST', '/login', {
      headers: FORM,
      cookies: { gh_csrf: nonce },
      body: new URLSearchParams({ email, password: PASSWORD, _csrf: formToken }).toString(),
    });
    assert.equal(login.statusCode, 303, login.body);
    const rotated = cookiesOf(login).gh_csrf!.value;
    assert.notEqual(rotated, nonce);
    const session = cookiesOf(login).gh_session!.value;
    const stale = await call(server.app, 'POST', '/account/profile', {
      headers: FORM,
      cookies: { gh_session: session, gh_csrf: rotated },
      body: new URLSearchParams({ name: 'Forged', _csrf: formToken }).toString(),
    });
    assert.equal(stale.statusCode, 403, stale.body);
    const account = await call(server.app, 'GET', '/account', { cookies: { gh_session: session, gh_csrf: rotated } });
    assert.equal(account.statusCode, 200);
    assert.equal(cookiesOf(account).gh_csrf, undefined, 'the rotated nonce is kept');
    const accountToken = /name="_csrf" value="([^"]+)"/.exec(account.body)![1]!;
    assert.notEqual(accountToken, formToken, 'the page carries a token for the new nonce');
    const saved = await call(server.app, 'POST', '/account/profile', {
      headers: FORM,
      cookies: { gh_session: session, gh_csrf: rotated },
      body: new URLSearchParams({ name: 'Renamed', _csrf: accountToken }).toString(),
    });
    assert.equal(saved.statusCode, 303, saved.body);
  });
});
