// A social sign-in that starts on /login and ends on /account, against a real OpenID provider.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { freePort, launchBrowser, newContext, startPageServer, type PageServer } from '../helpers/browser.ts';
import { uniqueEmail } from '../helpers/http.ts';
import { confirmTotp, enrolTotp } from '../../src/factors/service.ts';
import { codeAt } from '../../src/methods/totp/totp.ts';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts';

const CLIENT_ID = 'gatehouse-pages';
const CLIENT_SECRET = 'pages-client-secret-0123456789';

let provider: TestOidcProvider;
let server: PageServer;
let browser: Browser;

before(async () => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  provider = await startOidcProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${origin}/auth/oauth/acme/callback`] });
  server = await startPageServer({
    port,
    env: { OAUTH_ACME_ISSUER: provider.issuer, OAUTH_ACME_CLIENT_ID: CLIENT_ID, OAUTH_ACME_CLIENT_SECRET: CLIENT_SECRET, OAUTH_REDIRECT_ALLOWLIST: `${origin}/login/oauth` },
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await provider?.close();
});

describe('pages: sign in with a provider', () => {
  it('goes to the provider and back, and signs in only when the Continue button is pressed', async () => {
    const email = uniqueEmail('social');
    provider.setAccount('alice', { email, email_verified: true, name: 'Alice Social' });
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${server.origin}/login`);
    const button = page.getByRole('link', { name: 'Continue with Acme' });
    assert.equal(await button.getAttribute('href'), `/auth/oauth/acme?redirect_to=${encodeURIComponent(`${server.origin}/login/oauth`)}`);
    await button.click();

    // The provider's own (development) login and consent pages.
    await page.waitForURL((url) => url.origin === provider.issuer);
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('anything');
    await page.locator('button[type="submit"]').click();
    await page.waitForLoadState();
    if (new URL(page.url()).origin === provider.issuer) await page.locator('button[type="submit"]').click();

    await page.waitForURL((url) => url.pathname === '/login/oauth');
    assert.match(new URL(page.url()).searchParams.get('code') ?? '', /^gho_/);
    assert.equal((await context.cookies()).some((c) => c.name === 'gh_session'), false, 'opening the link signs nobody in');
    await page.getByRole('button', { name: 'Continue to my account' }).click();
    await page.waitForURL(`${server.origin}/account`);
    assert.match(await page.locator('main').innerText(), new RegExp(email.replace(/[.]/g, '\\.')));
    assert.match(await page.locator('section[aria-labelledby="identities-h"]').innerText(), /acme/);

    // The code worked once: pressing Continue again on the old page is refused.
    await page.goBack();
    await page.waitForURL((url) => url.pathname === '/login/oauth');
    const [again] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/login/oauth') && r.request().method() === 'POST'), page.getByRole('button', { name: 'Continue to my account' }).click()]);
    assert.equal(again.status(), 400);
    await context.close();
  });

  it('asks an account with a second factor for a code after the provider, and sets no cookie before it', async () => {
    const email = uniqueEmail('social-mfa');
    provider.setAccount('bob', { email, email_verified: true, name: 'Bob Social' });
    const context = await newContext(browser);
    const page = await context.newPage();
    await throughProvider(page, 'bob');
    await page.getByRole('button', { name: 'Continue to my account' }).click();
    await page.waitForURL(`${server.origin}/account`);

    // The account gets an authenticator app (its confirming code uses this time step).
    const ctx = server.runtime.ctx;
    const user = (await ctx.users.findByEmail(email))!;
    const started = await enrolTotp(ctx, user, { name: 'Phone' });
    await confirmTotp(ctx, user, started.factor.id, codeAt(started.secret, Date.now()), { ip: '127.0.0.1', userAgent: null });
    await page.getByRole('button', { name: 'Sign out' }).first().click();
    await page.waitForURL(/\/login$/);

    await throughProvider(page, 'bob');
    await page.getByRole('button', { name: 'Continue to my account' }).click();
    await page.waitForLoadState();
    assert.equal(await page.locator('h1').innerText(), 'Two-step verification');
    assert.equal((await context.cookies()).some((c) => c.name === 'gh_session'), false, 'no session before the second factor');
    // The next time step: inside the one-step drift window, and not the one the confirmation used.
    await page.getByLabel('Code from your authenticator app').fill(codeAt(started.secret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${server.origin}/account`);
    const sessions = await ctx.sessions.listLive(user.id, Date.now());
    assert.ok(sessions.some((s) => ['fed', 'otp', 'mfa'].every((m) => s.amr.includes(m))), 'signed in with the provider and the code');
    await context.close();
  });
});

/** From /login through the provider's own pages back to /login/oauth. */
async function throughProvider(page: Page, login: string): Promise<void> {
  await page.goto(`${server.origin}/login`);
  await page.getByRole('link', { name: 'Continue with Acme' }).click();
  await page.waitForURL((url) => url.origin === provider.issuer || url.pathname === '/login/oauth');
  for (let i = 0; i < 3 && new URL(page.url()).origin === provider.issuer; i++) {
    const loginField = page.locator('input[name="login"]');
    if (await loginField.count()) {
      await loginField.fill(login);
      await page.locator('input[name="password"]').fill('anything');
    }
    await page.locator('button[type="submit"]').click();
    await page.waitForLoadState();
  }
  await page.waitForURL((url) => url.pathname === '/login/oauth');
}
