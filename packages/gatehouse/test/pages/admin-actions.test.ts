// /admin in headless Chromium: inviting a user, a user's sessions (list, end one, sign out everywhere), a new
// verification link, the disabled filter and the audit log, each change audited and behind a recent sign-in.
// The server runs on a fake clock so a session can be made stale.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { recordEvent } from '../../src/audit/service.ts';
import { createUser } from '../../src/users/service.ts';
import { PASSWORD, call, login, uniqueEmail } from '../helpers/http.ts';
import { launchBrowser, mailedLink, newContext, screenshot, startPageServer, type PageServer } from '../helpers/browser.ts';

let server: PageServer;
let browser: Browser;
let adminEmail: string;
let adminId: string;

before(async () => {
  server = await startPageServer({ fakeClock: Date.now() });
  browser = await launchBrowser();
  adminEmail = uniqueEmail('admin');
  adminId = (await createUser(server.runtime.ctx, { email: adminEmail, password: PASSWORD, role: 'admin', name: 'The Admin', emailVerified: true })).id;
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function adminPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await newContext(browser, { javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.origin}/login?redirect_to=%2Fadmin`);
  await page.getByLabel('Email').fill(adminEmail);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.origin}/admin`);
  return { context, page };
}

async function submit(page: Page, path: string, click: () => Promise<void>): Promise<number> {
  const [response] = await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === path && r.request().method() === 'POST'), click()]);
  await page.waitForLoadState();
  return response.status();
}

async function events(userId: string, type: string) {
  return (await server.runtime.ctx.audit.list({ userId, limit: 200 })).filter((e) => e.type === type);
}

async function search(page: Page, q: string): Promise<void> {
  await page.getByLabel('Search by name or email').fill(q);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForLoadState();
}

describe('pages: admin actions', () => {
  it('invites a user, who gets a link to choose a password; errors show beside their field', async () => {
    const { context, page } = await adminPage();
    const invite = page.locator('section#invite');
    const email = uniqueEmail('invited');

    await invite.getByLabel('Email').fill('not an address');
    assert.equal(await submit(page, '/admin/invite', () => invite.getByRole('button', { name: 'Send the invitation' }).click()), 400);
    assert.equal(await invite.getByLabel('Email').getAttribute('aria-invalid'), 'true');
    assert.equal(await invite.getByLabel('Email').inputValue(), 'not an address');

    await invite.getByLabel('Email').fill(adminEmail);
    assert.equal(await submit(page, '/admin/invite', () => invite.getByRole('button', { name: 'Send the invitation' }).click()), 409);
    assert.equal(await invite.getByLabel('Email').getAttribute('aria-invalid'), 'true');

    await invite.getByLabel('Email').fill(email);
    await invite.getByLabel('Name').fill('Invited Person');
    await invite.getByLabel('Role').selectOption('admin');
    assert.equal(await submit(page, '/admin/invite', () => invite.getByRole('button', { name: 'Send the invitation' }).click()), 303);
    assert.equal(page.url(), `${server.origin}/admin`);
    assert.match(await page.locator('.flash').innerText(), /is invited/);
    await screenshot(page, 'admin-invite');
    const user = (await server.runtime.ctx.users.findByEmail(email))!;
    assert.equal(user.role, 'admin');
    assert.equal(user.name, 'Invited Person');
    assert.equal(user.passwordHash, null);
    assert.match(await mailedLink(server, email, '/reset-password'), /token=/);
    const invited = await events(user.id, 'user_invited');
    assert.equal(invited.length, 1);
    assert.equal(invited[0]!.detail?.by, adminId);
    await context.close();
  });

  it('lists a user\'s sessions, ends one, then signs them out everywhere', async () => {
    const email = uniqueEmail('sessions');
    const user = await createUser(server.runtime.ctx, { email, password: PASSWORD, name: 'Session Person', emailVerified: true });
    const first = await login(server.app, email);
    const second = await login(server.app, email);
    const third = await login(server.app, email);
    const { context, page } = await adminPage();
    await search(page, email);
    await page.getByRole('link', { name: `Sessions of ${email}` }).click();
    await page.waitForURL(`${server.origin}/admin/users/sessions?id=${user.id}`);
    const rows = page.locator('ul.sessions > li');
    assert.equal(await rows.count(), 3);

    assert.equal(await submit(page, '/admin/users/sessions/end', () => rows.first().getByRole('button').click()), 303);
    assert.equal(page.url(), `${server.origin}/admin/users/sessions?id=${user.id}`);
    assert.match(await page.locator('.flash').innerText(), /session is ended/);
    assert.equal(await rows.count(), 2);
    const statuses = await Promise.all([first, second, third].map(async (s) => (await call(server.app, 'GET', '/auth/me', { token: s.body.accessToken })).statusCode));
    assert.deepEqual(statuses.filter((s) => s === 401).length, 1);
    assert.equal((await events(user.id, 'session_revoked')).length, 1);

    await page.goto(`${server.origin}/admin?q=${encodeURIComponent(email)}`);
    assert.equal(await submit(page, '/admin/users/sign-out', () => page.getByRole('button', { name: `Sign out ${email} everywhere` }).click()), 303);
    assert.match(await page.locator('.flash').innerText(), /signed out everywhere \(2 sessions ended\)/);
    for (const s of [first, second, third]) assert.equal((await call(server.app, 'GET', '/auth/me', { token: s.body.accessToken })).statusCode, 401);
    assert.equal((await events(user.id, 'user_signed_out')).length, 1);
    await context.close();
  });

  it('resends a verification link to an unconfirmed address, and shows disabled users on their own', async () => {
    const email = uniqueEmail('unverified');
    const user = await createUser(server.runtime.ctx, { email, password: PASSWORD, name: 'Unverified Person' });
    const gone = uniqueEmail('disabled');
    const disabled = await createUser(server.runtime.ctx, { email: gone, password: PASSWORD, name: 'Disabled Person', emailVerified: true });
    await server.runtime.ctx.users.update(disabled.id, { disabledAt: server.clock!.now }, server.clock!.now);
    const { context, page } = await adminPage();

    await search(page, email);
    const row = page.locator('ul.users > li', { hasText: email });
    assert.equal(await submit(page, '/admin/users/resend-verification', () => row.getByRole('button', { name: 'Resend verification' }).click()), 303);
    assert.match(await page.locator('.flash').innerText(), /verification link is on its way/);
    assert.match(await mailedLink(server, email, '/verify-email'), /token=/);
    assert.equal((await events(user.id, 'verification_resent')).length, 1);

    await page.goto(`${server.origin}/admin`);
    await page.getByLabel('Only disabled users').check();
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/disabled=1/);
    const listed = await page.locator('ul.users > li').allInnerTexts();
    assert.ok(listed.some((t) => t.includes(gone)));
    assert.ok(listed.every((t) => t.includes('disabled')), 'only disabled users');
    assert.ok(!listed.some((t) => t.includes(email)));
    await context.close();
  });

  it('shows the audit log newest first, filtered by type and user, a page at a time', async () => {
    const email = uniqueEmail('audited');
    const user = await createUser(server.runtime.ctx, { email, password: PASSWORD, name: 'Audited Person', emailVerified: true });
    for (let i = 0; i < 55; i++) {
      server.clock!.advance(1);
      await recordEvent(server.runtime.ctx, 'account_exported', { userId: user.id, detail: { n: i } });
    }
    const { context, page } = await adminPage();
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(`${server.origin}/admin/audit-log`);
    assert.ok((await page.locator('ul.events > li').count()) > 0);

    await page.getByLabel('Type').selectOption('account_exported');
    await page.getByLabel('User (e-mail address or id)').fill(email);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/\/admin\/audit-log\?type=account_exported/);
    await screenshot(page, 'admin-audit');
    const rows = page.locator('ul.events > li');
    assert.equal(await rows.count(), 50);
    assert.match(await rows.first().innerText(), /"n":54/, 'newest first');
    assert.match(await rows.first().innerText(), new RegExp(email.replace(/[.+]/g, '\\$&')));
    await page.getByRole('link', { name: 'Older events' }).click();
    await page.waitForLoadState();
    assert.equal(await rows.count(), 5);
    assert.match(await rows.last().innerText(), /"n":0/);
    assert.equal(await page.getByRole('link', { name: 'Older events' }).count(), 0);

    await page.goto(`${server.origin}/admin/audit-log?user=nobody-here%40example.com`);
    assert.equal(await page.getByLabel('User (e-mail address or id)').getAttribute('aria-invalid'), 'true');
    await context.close();
  });

  it('asks "Confirm it\'s you" in a stale session, and refuses a form without its CSRF token', async () => {
    const email = uniqueEmail('stale-target');
    const user = await createUser(server.runtime.ctx, { email, password: PASSWORD, emailVerified: true });
    const theirs = await login(server.app, email);
    const { context, page } = await adminPage();
    server.clock!.advance(11 * 60_000); // REAUTH_MAX_AGE is 10 minutes

    const invited = uniqueEmail('stale-invite');
    await page.locator('section#invite').getByLabel('Email').fill(invited);
    assert.equal(await submit(page, '/admin/invite', () => page.getByRole('button', { name: 'Send the invitation' }).click()), 403);
    assert.equal(await page.locator('h1').innerText(), "Confirm it's you");
    assert.equal(await server.runtime.ctx.users.findByEmail(invited), null);

    await page.goto(`${server.origin}/admin?q=${encodeURIComponent(email)}`);
    assert.equal(await submit(page, '/admin/users/sign-out', () => page.getByRole('button', { name: `Sign out ${email} everywhere` }).click()), 403);
    assert.equal(await page.locator('h1').innerText(), "Confirm it's you");
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: theirs.body.accessToken })).statusCode, 200);

    const forged = await page.request.post(`${server.origin}/admin/users/sign-out`, { form: { id: user.id } });
    assert.equal(forged.status(), 403);
    assert.match(await forged.text(), /Form expired/);
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: theirs.body.accessToken })).statusCode, 200);
    assert.equal((await events(user.id, 'user_signed_out')).length, 0);
    await context.close();
  });
});
