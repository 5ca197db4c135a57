// Second factors on the pages, in headless Chromium, with and without JavaScript: adding an authenticator app
// from /account (QR code and key, recovery codes shown once), the sign-in's second step with a code or a
// recovery code, step-up ("Confirm it's you") before sensitive changes, and MFA_REQUIRED_ROLES.
// The server runs on a fake clock, so codes are computed for its time and a step is never reused by accident.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { codeAt } from '../../src/methods/totp/totp.ts';
import { PASSWORD, call, cookiesOf, uniqueEmail } from '../helpers/http.ts';
import { launchBrowser, newContext, type PageServer, screenshot, startPageServer, watchConsole } from '../helpers/browser.ts';

let server: PageServer;
let browser: Browser;

before(async () => {
  server = await startPageServer({ fakeClock: Date.now() });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const clock = () => server.clock!;
/** The code for the server's now, after moving on one time step so that no step is used twice. */
function nextCode(secret: string, on: PageServer = server): string {
  on.clock!.advance(30_000);
  return codeAt(secret, on.clock!.now);
}
/** A 6-digit code that is not valid anywhere in the drift window. */
function wrongCode(secret: string, on: PageServer = server): string {
  const valid = new Set([-30_000, 0, 30_000].map((d) => codeAt(secret, on.clock!.now + d)));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!valid.has(code)) return code;
  }
}

async function signUp(email: string, on: PageServer = server): Promise<void> {
  const res = await call(on.app, 'POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Ada Lovelace' } });
  assert.equal(res.statusCode, 201, res.body);
}


async function submitPassword(page: Page, email: string, on: PageServer = server): Promise<void> {
  await page.goto(`${on.origin}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await page.waitForURL(/\/login$/);
}

async function sessionCookie(context: BrowserContext): Promise<string | undefined> {
  return (await context.cookies()).find((c) => c.name === 'gh_session')?.value;
}

/** From /account: adds an authenticator app and returns its key (read off the page) and the recovery codes shown. */
async function enrol(page: Page, name: string, on: PageServer = server): Promise<{ secret: string; codes: string[] }> {
  await page.getByLabel('Name for the app').fill(name);
  await page.getByRole('button', { name: 'Add an authenticator app' }).click();
  await page.waitForURL(/\/account\/mfa\/totp\?id=/);
  assert.equal(await page.locator('h1').innerText(), 'Add an authenticator app');
  assert.equal(await page.locator('.qr svg').count(), 1, 'the QR code is inline SVG');
  const secret = (await page.locator('#totp-secret').innerText()).replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]{32}$/);
  const code = page.getByLabel('Code from the app');
  assert.equal(await code.getAttribute('inputmode'), 'numeric');
  assert.equal(await code.getAttribute('autocomplete'), 'one-time-code');
  await screenshot(page, 'account-mfa-enrol');

  await code.fill(wrongCode(secret, on));
  const [refused] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/account/mfa/totp/confirm')), page.getByRole('button', { name: 'Add this app' }).click()]);
  assert.equal(refused.status(), 401);
  await page.waitForLoadState();
  assert.equal(await page.getByLabel('Code from the app').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#code-error').innerText(), /wrong/);
  assert.equal((await page.locator('#totp-secret').innerText()).replace(/\s+/g, ''), secret, 'the same key is shown again');

  await page.getByLabel('Code from the app').fill(nextCode(secret, on));
  await page.getByRole('button', { name: 'Add this app' }).click();
  await page.waitForURL(`${on.origin}/account#mfa`);
  const codes = await page.locator('.flash .codes code').allInnerTexts();
  assert.equal(codes.length, 10, 'the first factor brings ten recovery codes');
  await screenshot(page, 'account-mfa-recovery-codes');
  return { secret, codes };
}

describe('pages: two-step verification', () => {
  for (const javaScriptEnabled of [true, false]) {
    it(`adds an authenticator app, then signs in with a code or a recovery code (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
      const email = uniqueEmail(`mfa-js-${javaScriptEnabled}`);
      await signUp(email);
      const context = await newContext(browser, { javaScriptEnabled });
      const page = await context.newPage();
      const problems = watchConsole(page);
      await submitPassword(page, email);
      await page.waitForURL(`${server.origin}/account`);
      const section = page.locator('section#mfa');
      assert.match(await section.innerText(), /Off\./);

      const { secret, codes } = await enrol(page, 'Phone');
      assert.match(await section.innerText(), /Phone/);
      assert.match(await section.innerText(), /10 recovery codes left/);
      await page.reload();
      assert.equal(await page.locator('.flash').count(), 0, 'the recovery codes are shown once, never on reload');
      assert.equal(await page.locator('.codes').count(), 0);
      await signOut(page);

      // The password alone starts no session: the second step asks for a code.
      await submitPassword(page, email);
      assert.equal(await page.locator('h1').innerText(), 'Two-step verification');
      assert.equal(await sessionCookie(context), undefined, 'no session before the second factor');
      const codeField = page.getByLabel('Code from your authenticator app');
      assert.equal(await codeField.getAttribute('inputmode'), 'numeric');
      assert.equal(await codeField.getAttribute('autocomplete'), 'one-time-code');
      await screenshot(page, 'login-mfa');

      await codeField.fill(wrongCode(secret));
      const [refused] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/login/mfa')), page.getByRole('button', { name: 'Verify' }).click()]);
      assert.equal(refused.status(), 401);
      await page.waitForLoadState();
      assert.equal(await page.getByLabel('Code from your authenticator app').getAttribute('aria-invalid'), 'true');
      assert.match(await page.locator('#code-error').innerText(), /code is wrong/);
      assert.equal(await sessionCookie(context), undefined);

      await page.getByLabel('Code from your authenticator app').fill(nextCode(secret));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL(`${server.origin}/account`);
      const user = await server.runtime.ctx.users.findByEmail(email);
      const sessions = await server.runtime.ctx.sessions.listLive(user!.id, clock().now);
      assert.ok(sessions.some((s) => ['pwd', 'otp', 'mfa'].every((m) => s.amr.includes(m))), 'signed in with both factors');
      await signOut(page);

      // A recovery code instead of the app: behind "Use a recovery code instead", which needs no script.
      await submitPassword(page, email);
      await page.getByText('Use a recovery code instead').click();
      await page.getByLabel('Recovery code').fill(codes[0]!);
      await page.getByRole('button', { name: 'Use recovery code' }).click();
      await page.waitForURL(`${server.origin}/account`);
      assert.match(await section.innerText(), /9 recovery codes left/);
      await signOut(page);

      // Each recovery code works once.
      await submitPassword(page, email);
      await page.getByText('Use a recovery code instead').click();
      await page.getByLabel('Recovery code').fill(codes[0]!);
      await page.getByRole('button', { name: 'Use recovery code' }).click();
      await page.waitForLoadState();
      assert.match(await page.locator('#recovery_code-error').innerText(), /wrong or used/);
      assert.equal(await sessionCookie(context), undefined);

      assert.deepEqual(problems, [], 'no CSP violation or script error');
      await context.close();
    });
  }

  it('sends a sign-in whose ticket died back to /login with a message', async () => {
    const email = uniqueEmail('mfa-ticket');
    await signUp(email);
    const context = await newContext(browser);
    const page = await context.newPage();
    await submitPassword(page, email);
    await page.waitForURL(`${server.origin}/account`);
    const { secret } = await enrol(page, 'Tablet');
    await signOut(page);
    await submitPassword(page, email);
    clock().advance(6 * 60_000); // the ticket lives five minutes
    await page.getByLabel('Code from your authenticator app').fill(codeAt(secret, clock().now));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${server.origin}/login`);
    assert.match(await page.locator('.flash').innerText(), /sign in again/);
    assert.equal(await sessionCookie(context), undefined);
    await context.close();
  });

  it('asks "Confirm it\'s you" before changing the password in a stale session, then lets it through', async () => {
    const email = uniqueEmail('mfa-stale');
    await signUp(email);
    const context = await newContext(browser);
    const page = await context.newPage();
    const problems = watchConsole(page);
    await submitPassword(page, email);
    await page.waitForURL(`${server.origin}/account`);
    clock().advance(11 * 60_000); // REAUTH_MAX_AGE is 10 minutes

    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByLabel('New password').fill('a brand new passphrase');
    const [asked] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/account/password')), page.getByRole('button', { name: 'Change password' }).click()]);
    assert.equal(asked.status(), 403);
    await page.waitForLoadState();
    assert.equal(await page.locator('h1').innerText(), "Confirm it's you");
    await screenshot(page, 'account-confirm');
    assert.ok(await server.runtime.ctx.passwords.verify((await server.runtime.ctx.users.findByEmail(email))!.passwordHash!, PASSWORD).then((r) => r.ok), 'not changed yet');

    await page.getByLabel('Password').fill('not my password');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForLoadState();
    assert.match(await page.locator('#password-error').innerText(), /wrong/);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForURL(`${server.origin}/account#password`);
    assert.match(await page.locator('.flash').innerText(), /confirmed/);

    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByLabel('New password').fill('a brand new passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(`${server.origin}/account`);
    assert.match(await page.locator('.flash').innerText(), /password is changed/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('with a factor, confirms with a code before removing it or making new recovery codes (JavaScript off)', async () => {
    const email = uniqueEmail('mfa-remove');
    await signUp(email);
    const context = await newContext(browser, { javaScriptEnabled: false });
    const page = await context.newPage();
    await submitPassword(page, email);
    await page.waitForURL(`${server.origin}/account`);
    const { secret, codes } = await enrol(page, 'Old phone');
    clock().advance(11 * 60_000);

    await page.getByRole('button', { name: 'Make new codes' }).click();
    await page.waitForLoadState();
    assert.equal(await page.locator('h1').innerText(), "Confirm it's you");
    assert.equal(await page.getByLabel('Password').count(), 0, 'an account with a factor confirms with it, never a password alone');
    await page.getByLabel('Code from your authenticator app').fill(nextCode(secret));
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await page.waitForURL(`${server.origin}/account#mfa`);
    await page.getByRole('button', { name: 'Make new codes' }).click();
    await page.waitForURL(`${server.origin}/account#mfa`);
    const fresh = await page.locator('.flash .codes code').allInnerTexts();
    assert.equal(fresh.length, 10);
    assert.ok(!fresh.includes(codes[1]!), 'a new set');

    clock().advance(11 * 60_000);
    await page.getByRole('button', { name: 'Remove Old phone' }).click();
    await page.waitForLoadState();
    assert.equal(await page.locator('h1').innerText(), "Confirm it's you");
    await page.getByText('Use a recovery code instead').click();
    await page.getByLabel('Recovery code').fill(fresh[0]!);
    await page.getByRole('button', { name: 'Confirm with recovery code' }).click();
    await page.waitForURL(`${server.origin}/account#mfa`);
    await page.getByRole('button', { name: 'Remove Old phone' }).click();
    await page.waitForURL(`${server.origin}/account#mfa`);
    assert.match(await page.locator('.flash').innerText(), /removed/);
    assert.match(await page.locator('section#mfa').innerText(), /Off\./);
    const user = await server.runtime.ctx.users.findByEmail(email);
    assert.equal(await server.runtime.ctx.factors.countConfirmed(user!.id), 0);
    await context.close();
  });

  it('MFA_REQUIRED_ROLES: shows only the enrolment until a factor is added, and refuses the rest', async () => {
    const strict = await startPageServer({ fakeClock: Date.now(), env: { MFA_REQUIRED_ROLES: 'user' } });
    try {
      const email = uniqueEmail('mfa-role');
      await signUp(email, strict);
      const context = await newContext(browser);
      const page = await context.newPage();
      const problems = watchConsole(page);
      await submitPassword(page, email, strict);
      await page.waitForURL(`${strict.origin}/account`);
      assert.match(await page.locator('main').innerText(), /Your role needs two-step verification/);
      assert.deepEqual(await page.locator('section').evaluateAll((all) => all.map((s) => s.id)), ['mfa', 'passkeys'], 'only the ways to a second factor: an app or a passkey');
      assert.equal(await page.getByRole('button', { name: 'Change password' }).count(), 0);
      await screenshot(page, 'account-mfa-required');

      // Another action, posted anyway, is refused with the notice and changes nothing.
      const html = await page.content();
      const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
      const refused = await page.request.post(`${strict.origin}/account/profile`, { form: { _csrf: csrf, name: 'Changed' } });
      assert.equal(refused.status(), 403);
      assert.match(await refused.text(), /Your role needs two-step verification/);
      assert.equal((await strict.runtime.ctx.users.findByEmail(email))!.name, 'Ada Lovelace');

      await enrol(page, 'Phone', strict);
      assert.equal(await page.getByRole('button', { name: 'Change password' }).count(), 1, 'everything once a factor is there');
      assert.deepEqual(problems, []);
      await context.close();
    } finally {
      await strict.close();
    }
  });

  it('refuses every new form without its CSRF token, and returns only to its own pages', async () => {
    const email = uniqueEmail('mfa-guard');
    const res = await call(server.app, 'POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Guarded', mode: 'session' } });
    const session = cookiesOf(res).gh_session!.value;
    const page = await call(server.app, 'GET', '/account', { cookies: { gh_session: session } });
    const csrfCookie = cookiesOf(page).gh_csrf!.value;
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const post = (url: string, fields: Record<string, string>) =>
      server.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `gh_session=${session}; gh_csrf=${csrfCookie}` },
        payload: new URLSearchParams(fields).toString(),
      });
    for (const url of ['/login/mfa', '/account/reauthenticate', '/account/mfa/totp', '/account/mfa/totp/confirm', '/account/mfa/remove', '/account/mfa/recovery-codes']) {
      const refused = await post(url, { _csrf: 'not-the-token', password: PASSWORD, code: '123456', mfa_ticket: 'ghm_x', id: '00000000-0000-0000-0000-000000000000' });
      assert.equal(refused.statusCode, 403, url);
      assert.match(refused.body, /This form has expired/, url);
    }
    const user = (await server.runtime.ctx.users.findByEmail(email))!;
    assert.equal((await server.runtime.ctx.factors.listByUser(user.id)).length, 0, 'no enrolment was started');

    const confirmed = await post('/account/reauthenticate', { _csrf: token, password: PASSWORD, return_to: 'https://evil.test/' });
    assert.equal(confirmed.statusCode, 303);
    assert.equal(confirmed.headers.location, '/account', 'never elsewhere');
    const dead = await post('/login/mfa', { _csrf: token, mfa_ticket: 'ghm_not-a-ticket', code: '123456', redirect_to: 'https://evil.test/' });
    assert.equal(dead.statusCode, 303);
    assert.equal(dead.headers.location, '/login');
    assert.equal(cookiesOf(dead).gh_session, undefined);
  });
});
