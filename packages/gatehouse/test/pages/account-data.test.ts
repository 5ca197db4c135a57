// /account in headless Chromium: changing the e-mail address, downloading the account's data and deleting the
// account, each behind a recent sign-in. The server runs on a fake clock so a session can be made stale.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createUser } from '../../src/users/service.ts';
import { PASSWORD, call, uniqueEmail } from '../helpers/http.ts';
import { launchBrowser, mailedLink, newContext, screenshot, startPageServer, type PageServer } from '../helpers/browser.ts';

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

async function signUp(email: string): Promise<void> {
  const res = await call(server.app, 'POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Katherine Johnson' } });
  assert.equal(res.statusCode, 201, res.body);
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto(`${server.origin}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.origin}/account`);
}

async function submit(page: Page, path: string, button: string): Promise<number> {
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith(path) && r.request().method() === 'POST'), page.getByRole('button', { name: button }).click()]);
  await page.waitForLoadState();
  return response.status();
}

async function events(userId: string, type: string) {
  return (await server.runtime.ctx.audit.list({ userId, limit: 100 })).filter((e) => e.type === type);
}

describe('pages: account data', () => {
  it('changes the e-mail address through a mailed link, with errors beside the field', async () => {
    const email = uniqueEmail('move');
    const taken = uniqueEmail('taken');
    await signUp(email);
    await signUp(taken);
    const context = await newContext(browser, { javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, email);

    const input = page.getByLabel('New e-mail address');
    await input.fill('not an address');
    assert.equal(await submit(page, '/account/email', 'Change e-mail address'), 400);
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.equal(await input.inputValue(), 'not an address', 'what was typed comes back');

    await input.fill(taken);
    assert.equal(await submit(page, '/account/email', 'Change e-mail address'), 409);
    assert.equal(await page.locator('section#email .form-error').count(), 1);

    const next = uniqueEmail('moved');
    await input.fill(next);
    assert.equal(await submit(page, '/account/email', 'Change e-mail address'), 303);
    assert.equal(page.url(), `${server.origin}/account`);
    assert.match(await page.locator('.flash').innerText(), new RegExp(`We sent a link to ${next.replace(/[.+]/g, '\\$&')}`));
    await screenshot(page, 'account-email-change');
    const user = (await server.runtime.ctx.users.findByEmail(email))!;
    assert.equal((await events(user.id, 'email_change_requested')).length, 1);
    assert.match(await mailedLink(server, next, '/email-change'), /token=/);
    assert.equal(user.email, email, 'unchanged until the link is used');
    await context.close();
  });

  it('downloads the account data as gatehouse-export.json', async () => {
    const email = uniqueEmail('export');
    await signUp(email);
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, email);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download my data' }).click()]);
    assert.equal(download.suggestedFilename(), 'gatehouse-export.json');
    const document = JSON.parse(await readFile((await download.path())!, 'utf8'));
    assert.equal(document.user.email, email);
    assert.ok(Array.isArray(document.sessions) && document.sessions.length >= 1);
    const user = (await server.runtime.ctx.users.findByEmail(email))!;
    assert.equal((await events(user.id, 'account_exported')).length, 1);
    await context.close();
  });

  it('asks "Confirm it\'s you" in a stale session before exporting, changing the address or deleting', async () => {
    const email = uniqueEmail('stale');
    await signUp(email);
    const context = await newContext(browser, { javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, email);
    server.clock!.advance(11 * 60_000); // REAUTH_MAX_AGE is 10 minutes

    assert.equal(await submit(page, '/account/export', 'Download my data'), 403);
    assert.equal(await page.locator('h1').innerText(), "Confirm it's you");
    await page.goto(`${server.origin}/account`);
    await page.getByLabel('New e-mail address').fill(uniqueEmail('stale-new'));
    assert.equal(await submit(page, '/account/email', 'Change e-mail address'), 403);
    assert.equal(await page.locator('h1').innerText(), "Confirm it's you");
    await page.goto(`${server.origin}/account`);
    await page.getByLabel('Type your e-mail address to confirm').fill(email);
    assert.equal(await submit(page, '/account/delete', 'Delete my account'), 403);
    assert.equal(await page.locator('h1').innerText(), "Confirm it's you");
    const user = (await server.runtime.ctx.users.findByEmail(email))!;
    assert.ok(user, 'not deleted');
    assert.equal((await events(user.id, 'account_exported')).length, 0);
    assert.equal((await events(user.id, 'email_change_requested')).length, 0);

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Confirm' }).click();
    // Back at the section that asked, not the top of the page.
    await page.waitForURL(`${server.origin}/account#delete`);
    await page.getByLabel('Type your e-mail address to confirm').fill(email);
    assert.equal(await submit(page, '/account/delete', 'Delete my account'), 303);
    assert.equal(new URL(page.url()).pathname, '/login');
    await context.close();
  });

  it('deletes the account once the address is typed, signs out and says so', async () => {
    const email = uniqueEmail('delete');
    await signUp(email);
    const user = (await server.runtime.ctx.users.findByEmail(email))!;
    const context = await newContext(browser, { javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, email);

    const confirm = page.getByLabel('Type your e-mail address to confirm');
    await confirm.fill('someone-else@example.com');
    assert.equal(await submit(page, '/account/delete', 'Delete my account'), 400);
    assert.equal(await confirm.getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#delete-email-error').innerText(), /exactly/);
    assert.ok(await server.runtime.ctx.users.findById(user.id));

    await confirm.fill(email.toUpperCase());
    assert.equal(await submit(page, '/account/delete', 'Delete my account'), 303);
    assert.equal(page.url(), `${server.origin}/login`);
    assert.match(await page.locator('.flash').innerText(), /account is deleted/);
    assert.equal(await server.runtime.ctx.users.findById(user.id), null);
    assert.equal((await context.cookies()).find((c) => c.name === 'gh_session'), undefined);
    await page.goto(`${server.origin}/account`);
    assert.equal(new URL(page.url()).pathname, '/login');
    await context.close();
  });

  it('refuses to delete the last enabled admin, on the page', async () => {
    const solo = await startPageServer();
    const context = await newContext(browser, { javaScriptEnabled: false });
    try {
      const email = uniqueEmail('last-admin');
      await createUser(solo.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true });
      const page = await context.newPage();
      await page.goto(`${solo.origin}/login`);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${solo.origin}/account`);
      await page.getByLabel('Type your e-mail address to confirm').fill(email);
      const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/account/delete')), page.getByRole('button', { name: 'Delete my account' }).click()]);
      assert.equal(response.status(), 409);
      await page.waitForLoadState();
      assert.match(await page.locator('section#delete .form-error').innerText(), /last enabled admin/);
      assert.ok(await solo.runtime.ctx.users.findByEmail(email));
    } finally {
      await context.close();
      await solo.close();
    }
  });
});
