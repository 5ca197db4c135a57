// /admin in headless Chromium: roles, the 403 page, the last-admin rule as a form error, and escaping.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createUser } from '../../src/users/service.ts';
import { PASSWORD, call, login, uniqueEmail } from '../helpers/http.ts';
import { forbidDialogs, launchBrowser, newContext, screenshot, startPageServer, type PageServer } from '../helpers/browser.ts';

let server: PageServer;
let browser: Browser;
let adminEmail: string;

before(async () => {
  server = await startPageServer();
  browser = await launchBrowser();
  adminEmail = uniqueEmail('admin');
  await createUser(server.runtime.ctx, { email: adminEmail, password: PASSWORD, role: 'admin', name: 'The Admin', emailVerified: true });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function signIn(page: Page, email: string, redirectTo = '/admin'): Promise<void> {
  await page.goto(`${server.origin}${redirectTo}`);
  assert.equal(new URL(page.url()).pathname, '/login', 'not signed in: sent to /login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.origin}${redirectTo}`);
}

describe('pages: admin', () => {
  it('lets an admin find a user and change their role, which ends that user\'s sessions', async () => {
    const email = uniqueEmail('promoted');
    await createUser(server.runtime.ctx, { email, password: PASSWORD, name: 'Promoted Person' });
    const theirs = await login(server.app, email);
    const context = await newContext(browser);
    const page = await context.newPage();
    const dialogs = forbidDialogs(page);
    await signIn(page, adminEmail);
    await screenshot(page, 'admin');

    await page.getByLabel('Search by name or email').fill('Promoted');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/\/admin\?q=Promoted/);
    const row = page.locator('ul.users > li');
    assert.equal(await row.count(), 1);
    await row.getByLabel('Role').selectOption('admin');
    await row.getByRole('button', { name: 'Change role' }).click();
    await page.waitForURL(`${server.origin}/admin?q=Promoted`);
    assert.match(await page.locator('.flash').innerText(), /is now admin/);
    assert.equal((await server.runtime.ctx.users.findByEmail(email))!.role, 'admin');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: theirs.body.accessToken })).json().error.code, 'token_revoked');

    await row.getByRole('button', { name: 'Disable' }).click();
    await page.waitForURL(`${server.origin}/admin?q=Promoted`);
    assert.notEqual((await server.runtime.ctx.users.findByEmail(email))!.disabledAt, null);
    assert.equal(await row.getByRole('button', { name: 'Enable' }).count(), 1);
    assert.deepEqual(dialogs, []);
    await context.close();
  });

  it('shows the last-admin rule beside the user, and changes nothing', async () => {
    const solo = await startPageServer();
    const soloBrowser = await newContext(browser);
    try {
      const email = uniqueEmail('solo');
      await createUser(solo.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true });
      const page = await soloBrowser.newPage();
      await page.goto(`${solo.origin}/login?redirect_to=%2Fadmin`);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${solo.origin}/admin`);
      const row = page.locator('ul.users > li');
      await row.getByLabel('Role').selectOption('user');
      const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/admin/users/role')), row.getByRole('button', { name: 'Change role' }).click()]);
      assert.equal(response.status(), 409);
      await page.waitForLoadState();
      const select = row.getByLabel('Role');
      assert.equal(await select.getAttribute('aria-invalid'), 'true');
      assert.match(await page.locator(`#${await select.getAttribute('aria-describedby')}`).innerText(), /last enabled admin/);
      await screenshot(page, 'admin-error');
      assert.equal((await solo.runtime.ctx.users.findByEmail(email))!.role, 'admin');
    } finally {
      await soloBrowser.close();
      await solo.close();
    }
  });

  it('answers a signed-in non-admin with a 403 page, and changes nothing when they post anyway', async () => {
    const email = uniqueEmail('plain');
    const user = await createUser(server.runtime.ctx, { email, password: PASSWORD });
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, email, '/account');
    const response = await page.goto(`${server.origin}/admin`);
    assert.equal(response!.status(), 403);
    assert.equal(await page.locator('h1').innerText(), 'Not allowed');
    await screenshot(page, 'admin-forbidden');
    // A hand-made form post with a valid CSRF token is refused the same way.
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const post = await page.request.post(`${server.origin}/admin/users/role`, { form: { _csrf: csrf, id: user.id, role: 'admin' } });
    assert.equal(post.status(), 403);
    assert.equal((await server.runtime.ctx.users.findById(user.id))!.role, 'user');
    await context.close();
  });

  it('escapes every value: a hostile name shows literally on /account and /admin and runs nothing', async () => {
    const hostile = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`;
    const email = uniqueEmail('xss');
    await createUser(server.runtime.ctx, { email, password: PASSWORD, name: hostile.slice(0, 100) });
    const name = (await server.runtime.ctx.users.findByEmail(email))!.name;
    assert.equal(name, hostile, 'the name is stored as typed');

    const context = await newContext(browser);
    const page = await context.newPage();
    const dialogs = forbidDialogs(page);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, email, '/account');
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), hostile);
    assert.ok((await page.locator('.top nav').innerText()).includes(hostile), 'shown as text in the header');
    assert.equal(await page.locator('main img, header img').count(), 0, 'no element was injected');
    assert.equal(await page.locator('body script:not([src])').count(), 0);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${server.origin}/login`);

    await signIn(page, adminEmail);
    await page.getByLabel('Search by name or email').fill(hostile.slice(0, 30));
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForLoadState();
    assert.equal(await page.getByLabel('Search by name or email').inputValue(), hostile.slice(0, 30));
    const row = page.locator('ul.users > li', { hasText: email });
    assert.ok((await row.locator('strong').innerText()).includes(hostile));
    assert.equal(await page.locator('main img').count(), 0);
    await screenshot(page, 'admin-escaped');
    assert.deepEqual(dialogs, [], 'no dialog fired');
    assert.deepEqual(errors, []);
    await context.close();
  });
});
