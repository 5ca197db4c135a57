// /account in headless Chromium: sessions, password, API keys, linked providers, and password recovery.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { completeSignIn } from '../../src/sign-in/complete-sign-in.ts';
import { createUser } from '../../src/users/service.ts';
import { PASSWORD, call, login, uniqueEmail } from '../helpers/http.ts';
import { forbidDialogs, launchBrowser, mailedLink, newContext, screenshot, startPageServer, type PageServer } from '../helpers/browser.ts';

let server: PageServer;
let browser: Browser;

before(async () => {
  server = await startPageServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function signUp(email: string): Promise<void> {
  const res = await call(server.app, 'POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Grace Hopper' } });
  assert.equal(res.statusCode, 201, res.body);
}

async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto(`${server.origin}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.origin}/account`);
}

describe('pages: account', () => {
  it('lists sessions and signs out another one, whose token is refused from then on', async () => {
    const email = uniqueEmail('sessions');
    await signUp(email);
    const other = await login(server.app, email, PASSWORD); // a second session, e.g. a phone app
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: other.body.accessToken })).statusCode, 200);

    const context = await newContext(browser, { userAgent: 'PageTest Browser/1.0' });
    const page = await context.newPage();
    const dialogs = forbidDialogs(page);
    await signIn(page, email);
    await screenshot(page, 'account');
    const rows = page.locator('section[aria-labelledby="sessions-h"] li');
    assert.equal(await rows.count(), 3, 'the register session, the API login and this browser');
    const mine = rows.filter({ hasText: 'this browser' });
    assert.match(await mine.innerText(), /PageTest Browser/);

    const sessions = (await call(server.app, 'GET', '/auth/sessions', { token: other.body.accessToken })).json().sessions as Array<{ id: string; current: boolean }>;
    const otherId = sessions.find((s) => s.current)!.id;
    await page.locator(`form:has(input[name="id"][value="${otherId}"]) button`).click();
    await page.waitForURL(`${server.origin}/account`);
    assert.match(await page.locator('.flash').innerText(), /That session is signed out/);
    assert.equal(await rows.count(), 2);
    const refused = await call(server.app, 'GET', '/auth/me', { token: other.body.accessToken });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().error.code, 'token_revoked');
    assert.deepEqual(dialogs, []);
    await context.close();
  });

  it('changes the name and the password (ending the other sessions), showing errors beside the fields', async () => {
    const email = uniqueEmail('password');
    await signUp(email);
    const other = await login(server.app, email, PASSWORD);
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, email);

    await page.getByLabel('Name', { exact: true }).fill('   ');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForLoadState();
    assert.equal(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
    await page.getByLabel('Name', { exact: true }).fill('Grace B. Hopper');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(`${server.origin}/account`);
    assert.equal((await server.runtime.ctx.users.findByEmail(email))!.name, 'Grace B. Hopper');

    await page.getByLabel('Current password').fill('wrong current password');
    await page.getByLabel('New password').fill('a completely new passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForLoadState();
    const current = page.getByLabel('Current password');
    assert.equal(await current.getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#currentPassword-error').innerText(), /current password is wrong/);
    assert.equal(await current.inputValue(), '', 'passwords never come back');
    assert.equal(await page.getByLabel('New password').inputValue(), '');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: other.body.accessToken })).statusCode, 200, 'nothing changed');

    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByLabel('New password').fill('a completely new passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(`${server.origin}/account`);
    assert.match(await page.locator('.flash').innerText(), /every other session was signed out/);
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: other.body.accessToken })).json().error.code, 'token_revoked');
    await login(server.app, email, 'a completely new passphrase');
    await context.close();
  });

  it('creates an API key shown once, which works, then revokes it', async () => {
    const email = uniqueEmail('keys');
    await signUp(email);
    const context = await newContext(browser);
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    await signIn(page, email);
    await page.getByLabel('Key name').fill('deploy bot');
    await page.getByLabel('Scopes').fill('read:reports');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.waitForURL(`${server.origin}/account#api-keys`);
    const key = await page.locator('#new-secret').inputValue();
    assert.match(key, /^gh_/);
    await screenshot(page, 'account-api-key');
    const me = await call(server.app, 'GET', '/auth/me', { token: key });
    assert.equal(me.statusCode, 200);
    await page.reload();
    assert.equal(await page.locator('#new-secret').count(), 0, 'the key is shown once');
    assert.ok(!(await page.content()).includes(key));

    await page.locator('section#api-keys li', { hasText: 'deploy bot' }).getByRole('button', { name: 'Revoke' }).click();
    await page.waitForURL(`${server.origin}/account#api-keys`);
    assert.deepEqual(dialogs.length, 1, 'the enhancement script asks before revoking');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: key })).statusCode, 401);
    await context.close();
  });

  it('unlinks a provider, but refuses to remove the last way to sign in, beside the provider', async () => {
    const email = uniqueEmail('linked');
    await signUp(email);
    const user = (await server.runtime.ctx.users.findByEmail(email))!;
    const now = Date.now();
    await server.runtime.ctx.identities.link({ provider: 'acme', subject: 'acme-1', userId: user.id, email, emailVerified: true, createdAt: now });
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, email);
    const section = page.locator('section[aria-labelledby="identities-h"]');
    assert.match(await section.innerText(), /acme/);
    await section.getByRole('button', { name: 'Unlink' }).click();
    await page.waitForURL(`${server.origin}/account`);
    assert.match(await section.innerText(), /None\./);
    assert.deepEqual(await server.runtime.ctx.identities.listByUser(user.id), []);
    await context.close();

    // An account made by a provider has no password: its only identity stays, and the page says why.
    const social = await createUser(server.runtime.ctx, { email: uniqueEmail('social'), password: null, emailVerified: true });
    await server.runtime.ctx.identities.link({ provider: 'acme', subject: 'acme-2', userId: social.id, email: social.email, emailVerified: true, createdAt: now });
    const signedIn = await completeSignIn(server.runtime.ctx, { user: social, amr: ['fed'], mode: 'session', client: { ip: '127.0.0.1', userAgent: 'test' } });
    assert.equal(signedIn.kind, 'signed_in');
    const { issued } = signedIn as Extract<typeof signedIn, { kind: 'signed_in' }>;
    const socialContext = await newContext(browser);
    await socialContext.addCookies([{ name: 'gh_session', value: issued.sessionToken!, url: server.origin }]);
    const socialPage = await socialContext.newPage();
    await socialPage.goto(`${server.origin}/account`);
    const [response] = await Promise.all([
      socialPage.waitForResponse((r) => r.url().endsWith('/account/identities/unlink')),
      socialPage.locator('section[aria-labelledby="identities-h"]').getByRole('button', { name: 'Unlink' }).click(),
    ]);
    assert.equal(response.status(), 409);
    await socialPage.waitForLoadState();
    assert.match(await socialPage.locator('section[aria-labelledby="identities-h"] .form-error').innerText(), /only way to sign in/);
    assert.equal((await server.runtime.ctx.identities.listByUser(social.id)).length, 1);
    await socialContext.close();
  });
});

describe('pages: forgot and reset password', () => {
  it('sends the same answer for any address, resets through the e-mailed link and signs every session out', async () => {
    const email = uniqueEmail('forgot');
    await signUp(email);
    const other = await login(server.app, email, PASSWORD);
    const context = await newContext(browser, { javaScriptEnabled: false });
    const page = await context.newPage();

    const ask = async (address: string) => {
      await page.goto(`${server.origin}/forgot-password`);
      await page.getByLabel('Email').fill(address);
      await page.getByRole('button', { name: 'Send the link' }).click();
      await page.waitForURL(`${server.origin}/forgot-password`);
      return page.locator('.flash').innerText();
    };
    const unknown = await ask(uniqueEmail('nobody'));
    await screenshot(page, 'forgot-password');
    assert.equal(await ask(email), unknown, 'known and unknown addresses get the same words');

    const link = await mailedLink(server, email, '/reset-password');
    await page.goto(link);
    await screenshot(page, 'reset-password');
    await page.getByLabel('New password').fill('password');
    await page.getByLabel('Repeat the password').fill('password');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.waitForLoadState();
    assert.equal(await page.getByLabel('New password').getAttribute('aria-invalid'), 'true', 'a common password is refused beside the field');
    await page.getByLabel('New password').fill('the brand new passphrase');
    await page.getByLabel('Repeat the password').fill('the brand new passphrase');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.waitForURL(`${server.origin}/login`);
    assert.match(await page.locator('.flash').innerText(), /password is changed/);
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: other.body.accessToken })).statusCode, 401);

    // The link works once, and says so as soon as it is opened again.
    await page.goto(link);
    assert.match(await page.locator('.form-error').innerText(), /invalid, was already used or has expired/);
    assert.equal(await page.getByLabel('New password').count(), 0, 'no form to type into');

    await page.goto(`${server.origin}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('the brand new passphrase');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.origin}/account`);
    await context.close();
  });
});
