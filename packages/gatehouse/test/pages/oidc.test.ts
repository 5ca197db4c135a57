// The OpenID provider in headless Chromium: an application sends a signed-out browser to /oauth2/authorize,
// the person signs in on the pages (password, then a code when the account has an authenticator app), and the
// browser lands on the application's redirect_uri, another origin, with a code and its state. Chromium applies
// the pages' CSP form-action to every redirect that follows a form POST, so this is checked in a real browser.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { codeAt } from '../../src/methods/totp/totp.ts';
import { PASSWORD, call, registerUser } from '../helpers/http.ts';
import { launchBrowser, newContext, type PageServer, startPageServer, watchConsole } from '../helpers/browser.ts';
import { oidc, registerClient, relyingParty, type Provider } from '../oidc/harness.ts';

let server: PageServer;
let provider: Provider;
let browser: Browser;
let callback: Server;
let redirectUri: string;
const arrivals: URL[] = [];

before(async () => {
  server = await startPageServer({ fakeClock: Date.now() });
  provider = { server, issuer: server.origin, close: () => server.close() };
  browser = await launchBrowser();
  // The application: a tiny server on another port (another origin) that records what it is sent.
  callback = createServer((req, res) => {
    arrivals.push(new URL(req.url ?? '/', redirectUri));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>App</title><p>Signed in to the app</p>');
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  redirectUri = `http://127.0.0.1:${(callback.address() as { port: number }).port}/callback`;
});
after(async () => {
  await browser?.close();
  await server?.close();
  await new Promise((resolve) => callback?.close(resolve));
});


async function authorizationUrl(firstParty = true) {
  const { clientId, secret } = await registerClient(provider, { firstParty, redirectUris: [redirectUri] });
  const rp = await relyingParty(provider, clientId, secret);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: redirectUri,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { rp, url, verifier, state, nonce };
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.waitForURL(/\/login\?redirect_to=%2Foauth2%2Finteraction%2F/);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function arrive(page: Page, request: Awaited<ReturnType<typeof authorizationUrl>>, problems: string[]) {
  await page.waitForURL((u) => u.href.startsWith(redirectUri), { timeout: 10_000 }).catch((err: Error) => {
    throw new Error(`stuck at ${page.url()} (${problems.join(' | ') || 'no console message'}): ${err.message}`);
  });
  const landed = new URL(page.url());
  assert.equal(landed.searchParams.get('state'), request.state);
  assert.ok(landed.searchParams.get('code'), 'a code');
  assert.ok(arrivals.some((a) => a.searchParams.get('state') === request.state), 'the application got the request');
  assert.deepEqual(problems, [], 'no CSP violation or script error');
  // The code is good: openid-client redeems it.
  const tokens = await oidc.authorizationCodeGrant(request.rp, landed, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
  return tokens.claims()!;
}

describe('pages: signing in to an application (OpenID provider)', () => {
  for (const javaScriptEnabled of [true, false]) {
    it(`a signed-out browser signs in with a password and lands on the application's redirect_uri (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
      const { email, body } = await registerUser(server.app, {});
      const request = await authorizationUrl();
      const context = await newContext(browser, { javaScriptEnabled });
      const page = await context.newPage();
      const problems = watchConsole(page);
      await page.goto(request.url.href);
      await signIn(page, email);
      const claims = await arrive(page, request, problems);
      assert.equal(claims.sub, body.user.id);
      await context.close();
    });
  }

  it('an account with an authenticator app signs in with the password and a code, then lands on the redirect_uri', async () => {
    const { email, body } = await registerUser(server.app, {});
    const now = () => server.clock!.now;
    const started = await call(server.app, 'POST', '/auth/mfa/totp', { token: body.accessToken, body: { name: 'phone' } });
    assert.equal(started.statusCode, 201, started.body);
    const { id, secret } = started.json();
    const confirmed = await call(server.app, 'POST', `/auth/mfa/totp/${id}/confirm`, { token: body.accessToken, body: { code: codeAt(secret, now()) } });
    assert.equal(confirmed.statusCode, 200, confirmed.body);

    const request = await authorizationUrl();
    const context = await newContext(browser);
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.goto(request.url.href);
    await signIn(page, email);
    await page.waitForLoadState();
    assert.equal(await page.locator('h1').innerText(), 'Two-step verification');
    server.clock!.advance(30_000);
    await page.getByLabel('Code from your authenticator app').fill(codeAt(secret, now()));
    await page.getByRole('button', { name: 'Verify' }).click();
    const claims = await arrive(page, request, problems);
    assert.equal(claims.sub, body.user.id);
    assert.ok((claims.amr as string[]).includes('mfa'));
    await context.close();
  });

  it('a third-party application: after the sign-in, the consent form\'s Allow lands on the redirect_uri', async () => {
    const { email, body } = await registerUser(server.app, {});
    const request = await authorizationUrl(false);
    const context = await newContext(browser);
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.goto(request.url.href);
    await signIn(page, email);
    await page.getByRole('button', { name: 'Allow' }).click();
    const claims = await arrive(page, request, problems);
    assert.equal(claims.sub, body.user.id);
    await context.close();
  });
});
