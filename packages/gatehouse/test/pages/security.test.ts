// The pages' guards: CSRF on every form, a strict CSP, forms parsed only here, junk input answered as a page.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { PASSWORD, call, cookiesOf, uniqueEmail } from '../helpers/http.ts';
import { launchBrowser, newContext, startPageServer, type PageServer } from '../helpers/browser.ts';

let server: PageServer;

before(async () => {
  server = await startPageServer();
});
after(() => server?.close());

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A session-mode sign-in and a page's CSRF field, as a browser would hold them. */
async function signedIn() {
  const email = uniqueEmail('guard');
  const res = await call(server.app, 'POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Original', mode: 'session' } });
  const session = cookiesOf(res).gh_session!.value;
  const page = await call(server.app, 'GET', '/account', { cookies: { gh_session: session } });
  assert.equal(page.statusCode, 200);
  const csrfCookie = cookiesOf(page).gh_csrf!.value;
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return { email, session, csrfCookie, token };
}

describe('pages: CSRF', () => {
  it('refuses a form without, with a wrong or with another browser\'s token, and changes nothing', async () => {
    const me = await signedIn();
    const other = await signedIn();
    const cookies = `gh_session=${me.session}; gh_csrf=${me.csrfCookie}`;
    const attempts: Array<[string, string, string]> = [
      ['no token', cookies, 'name=Forged'],
      ['an empty token', cookies, 'name=Forged&_csrf='],
      ['a wrong token', cookies, 'name=Forged&_csrf=not-a-token'],
      ['the nonce echoed as the token', cookies, `name=Forged&_csrf=${me.csrfCookie}`],
      ["another browser's token", cookies, `name=Forged&_csrf=${other.token}`],
      ['the right token but no nonce cookie', `gh_session=${me.session}`, `name=Forged&_csrf=${me.token}`],
    ];
    for (const [what, cookie, payload] of attempts) {
      for (const url of ['/account/profile', '/account/password', '/account/sessions/revoke-all', '/logout', '/login', '/register']) {
        const res = await server.app.inject({ method: 'POST', url, headers: { ...FORM, cookie, origin: 'https://evil.test' }, payload });
        assert.equal(res.statusCode, 403, `${url} with ${what}: ${res.statusCode}`);
        assert.match(res.body, /This form has expired/);
        assert.equal(cookiesOf(res).gh_session, undefined);
      }
    }
    const user = await server.runtime.ctx.users.findByEmail(me.email);
    assert.equal(user!.name, 'Original');
    assert.equal((await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: me.session } })).statusCode, 200, 'still signed in');

    const ok = await server.app.inject({ method: 'POST', url: '/account/profile', headers: { ...FORM, cookie: cookies }, payload: `name=Renamed&_csrf=${encodeURIComponent(me.token)}` });
    assert.equal(ok.statusCode, 303, 'the right token passes, so the refusals were about CSRF');
    assert.equal(ok.headers.location, '/account');
    assert.equal((await server.runtime.ctx.users.findByEmail(me.email))!.name, 'Renamed');
  });

  it('a form on another site, submitted in Chromium with the victim signed in, is refused', async () => {
    const browser: Browser = await launchBrowser();
    const evil: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<form method="post" action="${server.origin}/account/profile"><input name="name" value="Forged"><input name="_csrf" value="guess"><button>Win a prize</button></form>`);
    });
    try {
      await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
      const email = uniqueEmail('victim');
      await call(server.app, 'POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Victim' } });
      const context = await newContext(browser);
      const page = await context.newPage();
      await page.goto(`${server.origin}/login`);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${server.origin}/account`);
      await page.goto(`http://127.0.0.1:${(evil.address() as { port: number }).port}/`);
      const [response] = await Promise.all([page.waitForResponse((r) => r.url() === `${server.origin}/account/profile`), page.getByRole('button', { name: 'Win a prize' }).click()]);
      assert.equal(response.status(), 403);
      assert.equal((await server.runtime.ctx.users.findByEmail(email))!.name, 'Victim');
      await context.close();
    } finally {
      await browser.close();
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    }
  });
});

describe('pages: headers, assets and input', () => {
  it('sends a CSP with no inline script or style, and never caches a page', async () => {
    for (const url of ['/login', '/register', '/forgot-password', '/reset-password?token=x', '/verify-email?token=x']) {
      const res = await call(server.app, 'GET', url);
      // A reset link that does not work says so at once (400), with the same headers.
      assert.equal(res.statusCode, url.startsWith('/reset-password') ? 400 : 200, url);
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /style-src 'self'(;|$)/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
      assert.doesNotMatch(res.body, /<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=/i, `${url} has no inline script, style or handler`);
      // Every input has a label tied to it.
      for (const [, id] of res.body.matchAll(/<input id="([^"]+)"/g)) assert.match(res.body, new RegExp(`<label for="${id}">`), `${url}: #${id} is labelled`);
    }
    // Outside the pages (the API, the asset files) helmet's policy holds, without its default inline styles.
    for (const url of ['/auth/csrf', '/assets/gatehouse.css']) assert.doesNotMatch(String((await call(server.app, 'GET', url)).headers['content-security-policy']), /unsafe-inline/, url);
  });

  it('serves the stylesheet with the brand colour and the script as cacheable files', async () => {
    const branded = await startPageServer({ env: { BRAND_COLOR: '#C05', BRAND_NAME: 'Acme <Sign-in>' } });
    try {
      const page = await call(branded.app, 'GET', '/login');
      assert.match(page.body, /<title>Sign in · Acme &lt;Sign-in&gt;<\/title>/);
      const href = /<link rel="stylesheet" href="([^"]+)"/.exec(page.body)![1]!;
      const css = await call(branded.app, 'GET', href);
      assert.equal(css.statusCode, 200);
      assert.match(String(css.headers['content-type']), /^text\/css/);
      assert.match(css.body, /--brand: #cc0055;/);
      assert.match(String(css.headers['cache-control']), /max-age=31536000/);
      const again = await call(branded.app, 'GET', href, { headers: { 'if-none-match': String(css.headers.etag) } });
      assert.equal(again.statusCode, 304);
      const js = await call(branded.app, 'GET', /<script src="([^"]+)"/.exec(page.body)![1]!);
      assert.match(String(js.headers['content-type']), /^text\/javascript/);
      assert.notEqual(href, /<link rel="stylesheet" href="([^"]+)"/.exec((await call(server.app, 'GET', '/login')).body)![1], 'a new colour is a new URL');
    } finally {
      await branded.close();
    }
  });

  it('parses forms only for the pages: the JSON API still answers 415', async () => {
    const res = await server.app.inject({ method: 'POST', url: '/auth/login', headers: FORM, payload: `email=a%40b.co&password=${encodeURIComponent(PASSWORD)}` });
    assert.equal(res.statusCode, 415);
    assert.equal(res.json().error.code, 'unsupported_media_type');
  });

  it('answers junk with a page and a 4xx, never a 500', async () => {
    const me = await signedIn();
    const cookie = `gh_session=${me.session}; gh_csrf=${me.csrfCookie}`;
    const csrf = encodeURIComponent(me.token);
    const tries: Array<[string, Record<string, string>, string]> = [
      ['/account/profile', FORM, `_csrf=${csrf}&name=${'x'.repeat(5000)}`],
      ['/account/profile', FORM, `_csrf=${csrf}&name=a&name=&__proto__=x`],
      ['/account/sessions/revoke', FORM, `_csrf=${csrf}&id=../../etc`],
      ['/account/api-keys/revoke', FORM, `_csrf=${csrf}&id=%00`],
      ['/account/api-keys', FORM, `_csrf=${csrf}&name=&scopes=${encodeURIComponent('BAD SCOPE!')}`],
      ['/account/password', FORM, `_csrf=${csrf}`],
      ['/account/identities/unlink', FORM, `_csrf=${csrf}&provider=nobody`],
      ['/admin/users/role', FORM, `_csrf=${csrf}&id=x&role=root`],
      ['/login', FORM, `_csrf=${csrf}&email[]=x`],
      ['/login', { 'content-type': 'application/json' }, JSON.stringify({ _csrf: me.token, email: ['x'], password: { a: 1 } })],
      ['/register', FORM, `_csrf=${csrf}&email=not-an-address&password=x`],
      ['/verify-email', FORM, `_csrf=${csrf}&token=ghv_nope`],
      ['/reset-password', FORM, `_csrf=${csrf}&token=${'k'.repeat(3000)}&password=x`],
      ['/login/oauth', FORM, `_csrf=${csrf}&code=gho_nope`],
      ['/forgot-password', FORM, `_csrf=${csrf}&email=`],
      ['/account/profile', { 'content-type': 'text/plain' }, 'name=x'],
    ];
    for (const [url, headers, payload] of tries) {
      const res = await server.app.inject({ method: 'POST', url, headers: { ...headers, cookie }, payload });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${url} ${payload.slice(0, 40)}: ${res.statusCode}`);
      if (res.statusCode !== 415) assert.match(String(res.headers['content-type']), /text\/html/, `${url} answers a page`);
    }
    for (const url of ['/login?redirect_to[]=x', '/admin?cursor=%%%', '/reset-password?token[]=x', `/login/oauth?error=x&error_description=${encodeURIComponent('<b>hi</b>')}`]) {
      const res = await server.app.inject({ method: 'GET', url, headers: { cookie } });
      assert.ok(res.statusCode < 500, `${url}: ${res.statusCode}`);
      assert.ok(!res.body.includes('<b>hi</b>'));
    }
  });
});
