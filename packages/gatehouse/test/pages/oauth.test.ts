// A social sign-in that starts on /login and ends on /account, against a real OpenID provider.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { freePort, launchBrowser, newContext, startPageServer, type PageServer } from '../helpers/browser.ts';
import { uniqueEmail } from '../helpers/http.ts';
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
});
