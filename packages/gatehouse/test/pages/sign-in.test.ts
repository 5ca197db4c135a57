// The sign-up, verification, sign-out and sign-in pages, driven in headless Chromium.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { outboxDir } from '../../src/mail/transport.ts';
import { PASSWORD, uniqueEmail } from '../helpers/http.ts';
import { readOutbox } from '../helpers/mail.ts';
import { forbidDialogs, launchBrowser, mailedLink, newContext, screenshot, startPageServer, type PageServer } from '../helpers/browser.ts';

describe('pages: sign up, verify, sign out, sign in', () => {
  let server: PageServer;
  let browser: Browser;

  before(async () => {
    server = await startPageServer({ env: { OAUTH_GOOGLE_CLIENT_ID: 'page-test', OAUTH_GOOGLE_CLIENT_SECRET: 'page-test-secret' } });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('signs up, confirms the address from the e-mailed link, signs out and signs in again', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const dialogs = forbidDialogs(page);
    const email = uniqueEmail('page');

    await page.goto(`${server.origin}/register`);
    await screenshot(page, 'register');
    await page.getByLabel('Name').fill('Ada Lovelace');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${server.origin}/account`);
    assert.match(await page.locator('.flash').innerText(), /We sent a link/);
    assert.match(await page.locator('main').innerText(), /not confirmed yet/);

    // The link page only shows a button; the token is used by its POST.
    const link = await mailedLink(server, email, '/verify-email');
    await page.goto(link);
    assert.equal((await server.runtime.ctx.users.findByEmail(email))!.emailVerifiedAt, null, 'opening the link verifies nothing');
    await screenshot(page, 'verify-email');
    await page.getByRole('button', { name: 'Confirm my email address' }).click();
    await page.waitForURL(`${server.origin}/account`);
    assert.match(await page.locator('.flash').innerText(), /is confirmed/);
    assert.notEqual((await server.runtime.ctx.users.findByEmail(email))!.emailVerifiedAt, null);
    await page.reload();
    assert.equal(await page.locator('.flash').count(), 0, 'a flash is shown once');

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${server.origin}/login`);
    assert.match(await page.locator('.flash').innerText(), /signed out/);
    await page.goto(`${server.origin}/account`);
    assert.equal(new URL(page.url()).pathname, '/login', 'signed out: /account sends to /login');
    assert.equal(new URL(page.url()).searchParams.get('redirect_to'), '/account');

    await screenshot(page, 'login');
    assert.equal(await page.getByRole('link', { name: 'Continue with Google' }).getAttribute('href'), '/auth/oauth/google');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.origin}/account`);
    assert.match(await page.locator('main').innerText(), new RegExp(email.replace(/[.]/g, '\\.')));
    assert.deepEqual(dialogs, []);
    await context.close();
  });

  it('keeps the e-mail but never the password after a wrong password, with the error tied to the field', async () => {
    const email = uniqueEmail('wrong');
    await server.app.inject({ method: 'POST', url: '/auth/register', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password: PASSWORD }) });
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${server.origin}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(await page.getByLabel('Email').inputValue(), email);
    const password = page.getByLabel('Password');
    assert.equal(await password.inputValue(), '');
    assert.equal(await password.getAttribute('aria-invalid'), 'true');
    const described = await password.getAttribute('aria-describedby');
    assert.match(await page.locator(`#${described}`).innerText(), /Invalid email or password/);
    assert.ok(!(await page.content()).includes('not the password at all'), 'the typed password is not in the page');
    // The enhancement script focuses the field in error.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');
    await screenshot(page, 'login-error');
    const user = await server.runtime.ctx.users.findByEmail(email);
    const events = await server.runtime.ctx.audit.list({ type: 'login_failed', userId: user!.id, limit: 10 });
    assert.equal(events.length, 1, 'the failure is audited as an API login is');
    await context.close();
  });

  it('works with JavaScript turned off: sign up and sign in are plain forms and redirects', async () => {
    const context = await newContext(browser, { javaScriptEnabled: false });
    const page = await context.newPage();
    const email = uniqueEmail('nojs');
    await page.goto(`${server.origin}/register`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForLoadState();
    assert.equal(new URL(page.url()).pathname, '/register');
    assert.equal(await page.getByLabel('Email').inputValue(), email, 'what was typed comes back');
    assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#password-error').innerText(), /at least 8/);

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${server.origin}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${server.origin}/login`);

    // After sign-in, redirect_to is honoured only for our own pages or the allow-list: never elsewhere.
    await page.goto(`${server.origin}/login?redirect_to=${encodeURIComponent('https://evil.example/steal')}`);
    assert.equal(await page.locator('input[name="redirect_to"]').getAttribute('value'), '/account');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.origin}/account`);
    await context.close();
  });

  it('sends a sign-in back to an allow-listed page, and never to a forged redirect_to', async () => {
    const email = uniqueEmail('redir');
    await server.app.inject({ method: 'POST', url: '/auth/register', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password: PASSWORD }) });
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${server.origin}/login?redirect_to=${encodeURIComponent(`${server.origin}/`)}`);
    // Whatever the hidden field says, the server decides again.
    await page.locator('input[name="redirect_to"]').evaluate((input: HTMLInputElement) => {
      input.value = '//evil.example/';
    });
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.origin}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${server.origin}/login`);

    await page.goto(`${server.origin}/login?redirect_to=${encodeURIComponent(`${server.origin}/`)}`);
    assert.equal(await page.locator('input[name="redirect_to"]').getAttribute('value'), `${server.origin}/`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    const [response] = await Promise.all([page.waitForResponse((r) => r.url() === `${server.origin}/login` && r.request().method() === 'POST'), page.getByRole('button', { name: 'Sign in' }).click()]);
    assert.equal(response.status(), 303);
    assert.equal(response.headers().location, `${server.origin}/`);
    await context.close();
  });
});

describe('pages: the login rules are the API\'s', () => {
  it('refuses an unverified address with REQUIRE_EMAIL_VERIFICATION, and throttles per account', async () => {
    const server = await startPageServer({ env: { REQUIRE_EMAIL_VERIFICATION: 'true', RATE_LIMIT_LOGIN_ACCOUNT: '2/15m' } });
    const browser = await launchBrowser();
    try {
      const email = uniqueEmail('unverified');
      await server.app.inject({ method: 'POST', url: '/auth/register', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password: PASSWORD }) });
      const page = await (await newContext(browser)).newPage();
      const signIn = async (password: string) => {
        await page.goto(`${server.origin}/login`);
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill(password);
        const [response] = await Promise.all([page.waitForResponse((r) => r.url() === `${server.origin}/login` && r.request().method() === 'POST'), page.getByRole('button', { name: 'Sign in' }).click()]);
        await page.waitForLoadState();
        return response;
      };
      const unverified = await signIn(PASSWORD);
      assert.equal(unverified.status(), 403);
      assert.match(await page.locator('.form-error').innerText(), /not been verified/);
      // The owner can ask for a new link right there (they cannot sign in to ask from /account).
      await Promise.all([page.waitForURL(`${server.origin}/login`), page.getByRole('button', { name: 'Send a new confirmation link' }).click()]);
      assert.match(await page.locator('body').innerText(), /a new link is on its way/);
      await server.runtime.ctx.background.drain();
      assert.equal((await readOutbox(outboxDir(server.config))).filter((m) => m.to === email).filter((m) => m.subject.startsWith('Confirm')).length, 2, 'sign-up sent one, the button another');
      for (let i = 0; i < 2; i++) assert.equal((await signIn('wrong password here')).status(), 401);
      const locked = await signIn(PASSWORD);
      assert.equal(locked.status(), 429, 'over the account limit even the right password is refused');
      assert.ok(Number(locked.headers()['retry-after']) > 0);
      assert.match(await page.locator('.form-error').innerText(), /Too many .*; try again in 15 minutes\./, 'the page says how long to wait');
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
