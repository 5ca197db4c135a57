// Signing up with a passkey (MAGIC_LINK_SIGNUP): /register/passkey mails the magic link, the link signs the new
// account in and lands on "Create your passkey", which makes one at once; afterwards the passkey alone signs in
// and the account has no password. In headless Chromium with its virtual authenticator, at localhost (WebAuthn
// refuses an IP address as the relying party id). A known address gets the same page and a link that signs in
// its own account (never a second one); with MAGIC_LINK_SIGNUP off the page says passkey sign-up is not offered.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { outboxDir } from '../../src/mail/transport.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { launchBrowser, mailedLink, newContext, type PageServer, screenshot, startPageServer, watchConsole } from '../helpers/browser.ts';
import { PASSWORD, call, cookiesOf, uniqueEmail } from '../helpers/http.ts';
import { readOutbox } from '../helpers/mail.ts';

let server: PageServer;
let browser: Browser;

before(async () => {
  // WebAuthn refuses an IP address as the relying party id: the pages are opened at localhost.
  server = await startPageServer({ localhost: true, fakeClock: Date.now(), env: { MAGIC_LINK_SIGNUP: 'true' } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});


/** A browser's form posts without a browser: the CSRF cookie and token of a GET, then POSTs with them. */
async function formSession(app: TestServer, path: string, headers: Record<string, string> = {}) {
  const page = await call(app.app, 'GET', path, { headers });
  const cookies: Record<string, string> = {};
  for (const [name, { value }] of Object.entries(cookiesOf(page))) cookies[name] = value;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  return {
    page,
    cookies,
    async post(url: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
      const res = await app.app.inject({
        method: 'POST',
        url,
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', cookie: Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; ') },
        payload: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
      });
      for (const [name, { value }] of Object.entries(cookiesOf(res))) cookies[name] = value;
      return res;
    },
  };
}

/** The newest mail to `to` and its 6-digit code. */
async function mailTo(app: TestServer, to: string) {
  await app.runtime.ctx.background.drain();
  const mails = (await readOutbox(outboxDir(app.config))).filter((m) => m.to === to);
  const mail = mails[mails.length - 1];
  return mail ? { mail, count: mails.length, code: /\b(\d{6})\b/.exec(mail.text)?.[1] } : null;
}

/** The page's main text without what differs by request: the CSRF token and the address typed. */
const mainOf = (html: string, email: string) =>
  /<main id="main">([\s\S]*)<\/main>/.exec(html)![1]!.replace(/name="_csrf" value="[^"]+"/g, '').replaceAll(email, '<email>');

describe('signing up with a passkey', () => {
  it('the e-mailed link lands on "Create your passkey", which makes one; then the passkey alone signs in, and the account has no password', async () => {
    const email = uniqueEmail('passkey-signup');
    const context = await newContext(browser);
    const page = await context.newPage();
    const problems = watchConsole(page);
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    // The sign-in below uses the button, not the e-mail field's autofill (which would pick the passkey at once).
    await context.addInitScript(() => {
      PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    try {
      await page.goto(`${server.origin}/register`);
      await page.getByRole('link', { name: 'Sign up with a passkey' }).click();
      await page.waitForURL(`${server.origin}/register/passkey`);
      assert.equal(await page.locator('h1').innerText(), 'Sign up with a passkey');
      await screenshot(page, 'passkey-signup');
      await page.getByLabel('Email').fill(email);
      await page.getByRole('button', { name: 'E-mail me a link' }).click();
      await page.locator('h1', { hasText: 'Check your inbox' }).waitFor();
      assert.match(await page.getByRole('status').innerText(), new RegExp(`If ${email.replace(/\./g, '\\.')} can be used here`));
      assert.equal(await server.runtime.ctx.users.findByEmail(email), null, 'no account before the link is used');

      // The link's page asks for a click (a mail scanner opening it signs nobody in), then lands on the new page.
      await page.goto(await mailedLink(server, email, '/magic-link'));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${server.origin}/register/passkey/new`);
      assert.equal(await page.locator('h1').innerText(), 'Create your passkey');
      assert.match(await page.locator('main').innerText(), new RegExp(`${email.replace(/\./g, '\\.')} is confirmed and you are signed in`));
      assert.equal(await page.locator('[data-passkey-needs-script]').isVisible(), false, 'the no-script note is hidden when the script runs');
      const user = (await server.runtime.ctx.users.findByEmail(email))!;
      assert.ok(user, 'the link made the account');
      assert.equal(user.passwordHash, null);
      assert.notEqual(user.emailVerifiedAt, null, 'the link confirmed the address');

      await page.getByLabel('Name for the passkey').fill('Phone');
      await page.getByRole('button', { name: 'Create a passkey' }).click();
      const done = page.locator('[data-passkey-done]');
      await done.waitFor({ state: 'visible' });
      assert.match(await done.innerText(), /The passkey "Phone" is created\./);
      const codes = await done.locator('.passkey-codes code').allInnerTexts();
      assert.equal(codes.length, 10, "the account's first factor brings its recovery codes, shown once");
      await screenshot(page, 'passkey-signup-created');
      await done.getByRole('button', { name: 'I have saved them' }).click();
      await page.waitForURL(`${server.origin}/account#passkeys`);
      assert.equal(await page.locator('section#passkeys li', { hasText: 'Phone' }).count(), 1);
      const [credential] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
      assert.equal(credential?.isResidentCredential, true, 'a discoverable credential, for usernameless sign-in');

      // Signed out, the passkey alone signs in: no e-mail, no password.
      await page.getByRole('button', { name: 'Sign out' }).first().click();
      await page.waitForURL(/\/login$/);
      const button = page.getByRole('button', { name: 'Sign in with a passkey' });
      await button.waitFor({ state: 'visible' });
      await button.click();
      await page.waitForURL(`${server.origin}/account`);
      const sessions = await server.runtime.ctx.sessions.listLive(user.id, server.clock!.now);
      assert.deepEqual(sessions.map((s) => [...s.amr].sort()), [['hwk', 'mfa', 'user']], 'one live session, signed in by the passkey alone');

      // The account has no password, and its page says so instead of asking for the current one.
      const passwordSection = page.locator('section#password');
      assert.match(await passwordSection.innerText(), /no password/i);
      assert.equal(await passwordSection.getByLabel('Current password').count(), 0);
      assert.equal((await server.runtime.ctx.users.findByEmail(email))!.passwordHash, null);
      assert.equal((await server.runtime.ctx.factors.listByUser(user.id)).filter((f) => f.type === 'webauthn').length, 1);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('a known address gets the same page and a link (or code) that signs in its own account: no second account', async () => {
    const known = uniqueEmail('known');
    const registered = await call(server.app, 'POST', '/auth/register', { body: { email: known, password: PASSWORD, name: 'Known' } });
    assert.equal(registered.statusCode, 201, registered.body);
    const ghost = uniqueEmail('ghost');

    const forKnown = await formSession(server, '/register/passkey');
    assert.equal(forKnown.page.statusCode, 200);
    const askedKnown = await forKnown.post('/register/passkey', { email: known });
    const forGhost = await formSession(server, '/register/passkey');
    const askedGhost = await forGhost.post('/register/passkey', { email: ghost });
    assert.equal(askedKnown.statusCode, 200, askedKnown.body);
    assert.equal(askedGhost.statusCode, askedKnown.statusCode);
    assert.equal(mainOf(askedKnown.body, known), mainOf(askedGhost.body, ghost), 'the same page for a known and an unknown address');

    // The known address's code (the link's twin) signs in the existing account and goes on to create a passkey.
    const sent = (await mailTo(server, known))!;
    assert.ok(sent.code);
    const signedIn = await forKnown.post('/login/magic-link/code', { email: known, code: sent.code! });
    assert.equal(signedIn.statusCode, 303, signedIn.body);
    assert.equal(signedIn.headers.location, '/register/passkey/new');
    const landing = await call(server.app, 'GET', '/register/passkey/new', { cookies: { gh_session: forKnown.cookies.gh_session! } });
    assert.equal(landing.statusCode, 200);
    assert.match(landing.body, /<h1>Create your passkey<\/h1>/);
    assert.match(landing.body, /data-passkey-register/);
    const user = (await server.runtime.ctx.users.findByEmail(known))!;
    assert.equal(user.id, registered.json().user.id, 'the same account');
    assert.notEqual(user.passwordHash, null, 'its password stays');
    const rows = await server.runtime.database.db.selectFrom('users').select('id').where('email', '=', known).execute();
    assert.equal(rows.length, 1, 'no second account');
  });

  it('sends a signed-out visitor of "Create your passkey" to sign in first, and back; a signed-in one of the form to the account', async () => {
    const away = await call(server.app, 'GET', '/register/passkey/new');
    assert.equal(away.statusCode, 303);
    assert.equal(away.headers.location, '/login?redirect_to=%2Fregister%2Fpasskey%2Fnew');
    const login = await call(server.app, 'GET', away.headers.location as string);
    assert.match(login.body, /name="redirect_to" value="\/register\/passkey\/new"/, 'an own page sign-in may return to');

    const email = uniqueEmail('signed-in');
    const res = await call(server.app, 'POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Signed In', mode: 'session' } });
    const signedIn = await call(server.app, 'GET', '/register/passkey', { cookies: { gh_session: cookiesOf(res).gh_session!.value } });
    assert.equal(signedIn.statusCode, 303);
    assert.equal(signedIn.headers.location, '/account#passkeys');
  });

  it('refuses an address that is not one beside the field, and a form without its CSRF token', async () => {
    const form = await formSession(server, '/register/passkey');
    const bad = await form.post('/register/passkey', { email: 'not-an-address' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /<p class="field-error" id="email-error">Enter a valid email address<\/p>/);
    assert.match(bad.body, /value="not-an-address"/, 'what was typed comes back');
    const expired = await server.app.inject({ method: 'POST', url: '/register/passkey', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'email=x%40example.com&_csrf=nope' });
    assert.equal(expired.statusCode, 403);
  });

  it('speaks Korean to a Korean browser', async () => {
    const res = await call(server.app, 'GET', '/register/passkey', { headers: { 'accept-language': 'ko-KR,ko;q=0.9' } });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /<h1>패스키로 가입하기<\/h1>/);
    assert.match(res.body, /<button type="submit">링크 받기<\/button>/);
  });
});

describe('signing up with a passkey when MAGIC_LINK_SIGNUP is off', () => {
  let off: TestServer;
  before(async () => {
    off = await startTestServer({ fakeClock: Date.now() });
  });
  after(() => off?.close());

  it('says passkey sign-up is not offered, and mails nobody, known or not', async () => {
    const page = await call(off.app, 'GET', '/register/passkey');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Signing up with a passkey is not offered here\./);
    assert.doesNotMatch(page.body, /name="email"/, 'no form');
    assert.doesNotMatch((await call(off.app, 'GET', '/register')).body, /\/register\/passkey/, '/register does not link to it');

    const known = uniqueEmail('off-known');
    assert.equal((await call(off.app, 'POST', '/auth/register', { body: { email: known, password: PASSWORD } })).statusCode, 201);
    const before = (await mailTo(off, known))?.count ?? 0;
    for (const email of [known, uniqueEmail('off-ghost')]) {
      const form = await formSession(off, '/register/passkey');
      const posted = await form.post('/register/passkey', { email });
      assert.equal(posted.statusCode, 403);
      assert.match(posted.body, /Signing up with a passkey is not offered here\./);
    }
    assert.equal((await mailTo(off, known))?.count ?? 0, before, 'no sign-in mail');
  });
});
