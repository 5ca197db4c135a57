// /admin/clients/page in headless Chromium (JavaScript off, as the forms must work without it): an admin lists
// the OpenID provider's applications, registers one (the secret shown once, in the flash), gives it a new
// secret and deletes it; each change audited, behind CSRF and a recent sign-in. Fake clock for a stale session.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { sha256 } from '../../src/crypto/random.ts';
import { SqlOidcClientStore } from '../../src/db/oidc-store.ts';
import { createUser } from '../../src/users/service.ts';
import { PASSWORD, login, uniqueEmail } from '../helpers/http.ts';
import { launchBrowser, newContext, screenshot, startPageServer, type PageServer } from '../helpers/browser.ts';

const PAGE = '/admin/clients/page';

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

async function signIn(email: string, headers: Record<string, string> = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await newContext(browser, { javaScriptEnabled: false });
  await context.setExtraHTTPHeaders(headers);
  const page = await context.newPage();
  await page.goto(`${server.origin}/login?redirect_to=%2Fadmin`);
  await page.getByLabel(/^(Email|이메일)$/).fill(email);
  await page.getByLabel(/^(Password|비밀번호)$/).fill(PASSWORD);
  await page.locator('form[action^="/login"] button[type="submit"]').first().click();
  await page.waitForLoadState();
  return { context, page };
}

async function submit(page: Page, path: string, click: () => Promise<void>): Promise<number> {
  const [response] = await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === path && r.request().method() === 'POST'), click()]);
  await page.waitForLoadState();
  return response.status();
}

async function events(type: string) {
  return (await server.runtime.ctx.audit.list({ userId: adminId, limit: 200 })).filter((e) => e.type === type);
}

const store = () => new SqlOidcClientStore(server.runtime.database.db);

describe('pages: admin applications (OpenID clients)', () => {
  it('registers an application (errors beside their field; the secret shown once), gives it a new secret, deletes it, each audited', async () => {
    const { context, page } = await signIn(adminEmail);
    await page.waitForURL(`${server.origin}/admin`);
    await page.getByRole('link', { name: 'Applications (OpenID clients)' }).click();
    await page.waitForURL(`${server.origin}${PAGE}`);
    assert.equal(await page.locator('h1').innerText(), 'Applications');
    const form = page.locator('section#new-client');

    // A redirect URI over plain http off loopback: 400, the field marked, what was typed kept.
    await form.getByLabel('Application name').fill('Wiki');
    await form.getByLabel('Redirect URIs', { exact: true }).fill('http://wiki.example.com/callback');
    assert.equal(await submit(page, `${PAGE}/create`, () => form.getByRole('button', { name: 'Register the application' }).click()), 400);
    assert.equal(await form.getByLabel('Redirect URIs', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.equal(await form.getByLabel('Application name').inputValue(), 'Wiki');
    // An OpenID scope in the API scopes: 400 beside that field.
    await form.getByLabel('Redirect URIs', { exact: true }).fill('https://wiki.example.com/callback https://wiki.example.com/cb2');
    await form.getByLabel('API scopes it may ask for').fill('openid');
    assert.equal(await submit(page, `${PAGE}/create`, () => form.getByRole('button', { name: 'Register the application' }).click()), 400);
    assert.equal(await form.getByLabel('API scopes it may ask for').getAttribute('aria-invalid'), 'true');

    await form.getByLabel('API scopes it may ask for').fill('wiki:read wiki:write');
    await form.getByLabel('APIs it may ask tokens for').fill('https://wiki.example.com/api');
    await form.getByLabel('First-party: skip the consent page').check();
    assert.equal(await submit(page, `${PAGE}/create`, () => form.getByRole('button', { name: 'Register the application' }).click()), 303);
    assert.equal(page.url(), `${server.origin}${PAGE}`);
    const flash = page.locator('.flash');
    assert.match(await flash.innerText(), /Wiki is registered\. Its client id is (\S+)\./);
    const clientId = /client id is (\S+?)\./.exec(await flash.innerText())![1]!;
    const secret = await page.getByLabel(/Copy it now/).inputValue();
    assert.match(secret, /^ghcs_/);
    await screenshot(page, 'admin-clients');
    const stored = (await store().find(clientId))!;
    assert.equal(stored.secretHash, sha256(secret), 'kept only as SHA-256');
    assert.equal(stored.firstParty, true);
    assert.deepEqual(stored.metadata.redirect_uris, ['https://wiki.example.com/callback', 'https://wiki.example.com/cb2']);
    assert.deepEqual(stored.metadata.allowed_resources, ['https://wiki.example.com/api']);
    assert.deepEqual(stored.metadata.allowed_scopes, ['wiki:read', 'wiki:write']);
    const row = page.locator('ul.clients > li', { hasText: clientId });
    assert.match(await row.innerText(), /confidential/);
    assert.match(await row.innerText(), /wiki:read wiki:write/);
    // Shown once: the page again has no secret on it.
    await page.reload();
    assert.equal(await page.locator('.flash').count(), 0);
    assert.ok(!(await page.content()).includes(secret));
    assert.equal((await events('oidc_client_created')).filter((e) => e.detail?.clientId === clientId).length, 1);

    // A new secret: shown once; the stored hash is the new one's.
    assert.equal(await submit(page, `${PAGE}/rotate-secret`, () => row.getByRole('button', { name: 'New secret for Wiki' }).click()), 303);
    assert.match(await page.locator('.flash').innerText(), /Wiki has a new secret/);
    const rotated = await page.getByLabel(/Copy it now/).inputValue();
    assert.notEqual(rotated, secret);
    assert.equal((await store().find(clientId))!.secretHash, sha256(rotated));
    assert.equal((await events('oidc_client_updated')).filter((e) => e.detail?.clientId === clientId && e.detail?.change === 'secret_rotated').length, 1);

    // A public client: no secret, no "New secret" button.
    await form.getByLabel('Application name').fill('Single-page app');
    await form.getByLabel('Redirect URIs', { exact: true }).fill('http://127.0.0.1:5173/callback');
    await form.getByLabel('Public client: no secret (a single-page or mobile app, PKCE only)').check();
    assert.equal(await submit(page, `${PAGE}/create`, () => form.getByRole('button', { name: 'Register the application' }).click()), 303);
    assert.match(await page.locator('.flash').innerText(), /as a public client it has no secret/);
    assert.equal(await page.getByLabel(/Copy it now/).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'New secret for Single-page app' }).count(), 0);

    assert.equal(await submit(page, `${PAGE}/delete`, () => row.getByRole('button', { name: 'Delete Wiki' }).click()), 303);
    assert.match(await page.locator('.flash').innerText(), /Wiki is deleted/);
    assert.equal(await store().find(clientId), null);
    assert.equal(await page.locator('ul.clients > li', { hasText: clientId }).count(), 0);
    assert.equal((await events('oidc_client_deleted')).filter((e) => e.detail?.clientId === clientId).length, 1);

    // A button for an application deleted meanwhile (another tab): 404, said at the top of the page (its row is gone).
    const spa = page.locator('ul.clients > li', { hasText: 'Single-page app' });
    const spaId = (await store().list()).find((c) => c.name === 'Single-page app')!.clientId;
    await store().delete(spaId);
    assert.equal(await submit(page, `${PAGE}/delete`, () => spa.getByRole('button', { name: 'Delete Single-page app' }).click()), 404);
    assert.match(await page.locator('.form-error[role="alert"]').innerText(), /does not exist/);
    assert.equal(await page.locator('h1').innerText(), 'Applications');
    await context.close();
  });

  it('asks "Confirm it\'s you" in a stale session, refuses a form without its CSRF token, and is for admins only', async () => {
    const { context, page } = await signIn(adminEmail);
    await page.goto(`${server.origin}${PAGE}`);
    server.clock!.advance(11 * 60_000); // REAUTH_MAX_AGE is 10 minutes
    const form = page.locator('section#new-client');
    await form.getByLabel('Application name').fill('Stale');
    await form.getByLabel('Redirect URIs', { exact: true }).fill('https://stale.example.com/cb');
    assert.equal(await submit(page, `${PAGE}/create`, () => form.getByRole('button', { name: 'Register the application' }).click()), 403);
    assert.equal(await page.locator('h1').innerText(), "Confirm it's you");
    assert.ok(!(await store().list()).some((c) => c.name === 'Stale'));
    // Confirming comes back to this page, not to /admin.
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForURL(`${server.origin}${PAGE}`);

    const forged = await page.request.post(`${server.origin}${PAGE}/create`, { form: { name: 'Forged', redirectUris: 'https://forged.example.com/cb' } });
    assert.equal(forged.status(), 403);
    assert.match(await forged.text(), /Form expired/);
    assert.ok(!(await store().list()).some((c) => c.name === 'Forged'));
    await context.close();

    const email = uniqueEmail('not-admin');
    await createUser(server.runtime.ctx, { email, password: PASSWORD, emailVerified: true });
    await login(server.app, email);
    const user = await signIn(email);
    const res = await user.page.goto(`${server.origin}${PAGE}`);
    assert.equal(res!.status(), 403);
    assert.equal(await user.page.locator('h1').innerText(), 'Not allowed');
    await user.context.close();
  });

  it('speaks Korean to a Korean browser', async () => {
    const { context, page } = await signIn(adminEmail, { 'accept-language': 'ko' });
    await page.goto(`${server.origin}${PAGE}`);
    assert.equal(await page.locator('h1').innerText(), '애플리케이션');
    assert.equal(await page.locator('section#new-client h2').innerText(), '애플리케이션 등록');
    await page.goto(`${server.origin}/admin`);
    assert.equal(await page.getByRole('link', { name: '애플리케이션(OpenID 클라이언트)' }).count(), 1);
    await context.close();
  });
});
