// Passkeys on the pages, in headless Chromium with its virtual authenticator (DevTools' WebAuthn domain): adding
// one on /account, signing in with it usernameless from /login (with user verification: signed in, amr hwk user
// mfa; without: the second step), step-up with a passkey before removing one, the last way in that cannot be
// removed, and the pages without JavaScript (no passkey button, everything else works). No CSP violation anywhere.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { PASSWORD, call, uniqueEmail } from '../helpers/http.ts';
import { launchBrowser, mailedLink, newContext, type PageServer, screenshot, startPageServer, watchConsole } from '../helpers/browser.ts';

let server: PageServer;
let browser: Browser;

before(async () => {
  // WebAuthn refuses an IP address as the relying party id: the pages are opened at localhost.
  server = await startPageServer({ localhost: true, fakeClock: Date.now(), env: { MAGIC_LINK_SIGNUP: 'true' } });
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


/** Accepts the enhancement script's confirmations (data-confirm) and counts them. */
function acceptDialogs(page: Page): string[] {
  const seen: string[] = [];
  page.on('dialog', (dialog) => {
    seen.push(dialog.message());
    void dialog.accept();
  });
  return seen;
}

type Credential = Awaited<ReturnType<CDPSession['send']>> & { credentialId: string; isResidentCredential: boolean; signCount: number };

interface Authenticator {
  cdp: CDPSession;
  credentials(): Promise<Credential[]>;
  /**
   * Moves the passkeys to an authenticator that can (true) or cannot (false) verify the user. Chromium refuses a
   * ceremony whose user verification fails, so "no user verification" is an authenticator without it (as a
   * security key without a PIN is) holding the same keys and signature counters.
   */
  setUserVerification(available: boolean): Promise<void>;
}

const authenticatorOptions = (userVerification: boolean) => ({
  protocol: 'ctap2' as const,
  // The same transport: the browser asks only authenticators of the transports the passkey was registered with.
  transport: 'internal' as const,
  hasResidentKey: true,
  hasUserVerification: userVerification,
  isUserVerified: userVerification,
  automaticPresenceSimulation: true,
});

/** A platform authenticator with resident keys and user verification (a phone or laptop's passkeys). */
async function virtualAuthenticator(context: BrowserContext, page: Page): Promise<Authenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  let { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: authenticatorOptions(true) });
  const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as Credential[];
  return {
    cdp,
    credentials,
    async setUserVerification(available) {
      const held = await credentials();
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
      ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: authenticatorOptions(available) }));
      for (const credential of held) await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: credential as never });
    },
  };
}

async function submitPassword(page: Page, email: string): Promise<void> {
  await page.goto(`${server.origin}/login`);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${server.origin}/account`);
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await page.waitForURL(/\/login$/);
}

/** On /account: "Add a passkey"; returns the recovery codes shown when it is the account's first factor. */
async function addPasskey(page: Page, name: string): Promise<string[]> {
  const section = page.locator('section#passkeys');
  await section.getByLabel('Name for the passkey').fill(name);
  await section.getByRole('button', { name: 'Add a passkey' }).click();
  const done = section.locator('[data-passkey-done]');
  const row = section.locator('li', { hasText: name });
  await Promise.race([done.waitFor({ state: 'visible' }), row.waitFor()]);
  let codes: string[] = [];
  if (await done.isVisible()) {
    codes = await done.locator('.passkey-codes code').allInnerTexts();
    await done.getByRole('button', { name: 'I have saved them' }).click();
  }
  await row.waitFor();
  return codes;
}

async function sessionAmr(email: string): Promise<string[][]> {
  const user = await server.runtime.ctx.users.findByEmail(email);
  const sessions = await server.runtime.ctx.sessions.listLive(user!.id, server.clock!.now);
  return sessions.map((s) => s.amr);
}

describe('passkeys on the pages', () => {
  it('adds a passkey on /account, signs in with it (usernameless), asks the second step without user verification, and removes it after step-up', async () => {
    const email = uniqueEmail();
    await signUp(email);
    const context = await newContext(browser);
    const page = await context.newPage();
    const problems = watchConsole(page);
    const dialogs = acceptDialogs(page);
    const authenticator = await virtualAuthenticator(context, page);
    try {
      await submitPassword(page, email);
      const section = page.locator('section#passkeys');
      assert.match(await section.innerText(), /None yet/);
      assert.equal(await section.locator('[data-passkey-needs-script]').isVisible(), false, 'the no-script note is hidden when the script runs');

      const codes = await addPasskey(page, 'Laptop');
      assert.equal(codes.length, 10, "the account's first factor brings its recovery codes, shown once");
      const [stored] = await authenticator.credentials();
      assert.equal(stored?.isResidentCredential, true, 'a discoverable credential, for usernameless sign-in');
      const row = section.locator('li', { hasText: 'Laptop' });
      assert.match(await row.innerText(), /added .+ UTC · last used –/);
      await screenshot(page, 'account-passkeys');

      // Rename: a plain form.
      await row.getByText('Rename').click();
      await row.getByLabel('New name').fill('  Work laptop ');
      await row.getByRole('button', { name: 'Save name' }).click();
      await page.waitForURL(`${server.origin}/account#passkeys`);
      assert.match(await page.getByRole('status').innerText(), /now called "Work laptop"/);
      assert.equal(await section.locator('li', { hasText: 'Work laptop' }).count(), 1);

      // Browser autofill (conditional mediation): /login asks for a passkey as soon as it opens, offered in the
      // e-mail field's suggestions; Chromium's virtual authenticator picks it at once, as a person would.
      const signedOut = page.waitForURL(/\/login$/);
      await page.getByRole('button', { name: 'Sign out' }).first().click();
      await signedOut;
      await page.waitForURL(`${server.origin}/account`);
      assert.ok((await sessionAmr(email)).some((amr) => ['hwk', 'user', 'mfa'].every((m) => amr.includes(m)) && !amr.includes('pwd')), 'a verified passkey is two factors on its own');
      assert.match(await section.locator('li', { hasText: 'Work laptop' }).innerText(), /last used .+ UTC/);

      // The button, in a browser without autofill for passkeys: usernameless, nothing typed.
      await context.addInitScript(() => {
        PublicKeyCredential.isConditionalMediationAvailable = async () => false;
      });
      await signOut(page);
      const button = page.getByRole('button', { name: 'Sign in with a passkey' });
      await button.waitFor({ state: 'visible' });
      assert.equal(await page.getByLabel('Email', { exact: true }).getAttribute('autocomplete'), 'username webauthn', "passkeys offered in the field's autofill");
      await screenshot(page, 'login-passkey');
      await button.click();
      await page.waitForURL(`${server.origin}/account`);
      assert.deepEqual((await sessionAmr(email)).filter((amr) => amr.includes('hwk')).map((amr) => [...amr].sort()), [['hwk', 'mfa', 'user']], 'the autofill session was signed out; this one is the button\'s');
      await signOut(page);

      // Without user verification the passkey is possession only: the second step, and not with the same passkey.
      // (Chromium offers discoverable credentials only from authenticators that verify the user, so this time the
      // address is typed: the button then asks for the account's passkeys by id.)
      await authenticator.setUserVerification(false);
      await page.getByLabel('Email', { exact: true }).fill(email);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.waitForURL(`${server.origin}/login/passkey`);
      assert.equal(await page.locator('h1').innerText(), 'Two-step verification');
      assert.equal(await page.getByRole('button', { name: 'Use a passkey' }).count(), 0, 'the same passkey cannot be the second step');
      assert.equal(await page.getByLabel('Code from your authenticator app').count(), 0, 'no app: no code form');
      assert.equal((await context.cookies()).some((c) => c.name === 'gh_session'), false, 'no session before the second step');
      await page.getByLabel('Recovery code').fill(codes[0]!);
      await page.getByRole('button', { name: 'Use recovery code' }).click();
      await page.waitForURL(`${server.origin}/account`);
      assert.ok((await sessionAmr(email)).some((amr) => ['hwk', 'rc', 'mfa'].every((m) => amr.includes(m)) && !amr.includes('user')));

      // After a password, the passkey is the second step: "Use a passkey" on that page.
      await signOut(page);
      await page.getByLabel('Email', { exact: true }).fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(`${server.origin}/login`);
      assert.equal(await page.locator('h1').innerText(), 'Two-step verification');
      await page.getByRole('button', { name: 'Use a passkey' }).click();
      await page.waitForURL(`${server.origin}/account`);
      assert.ok((await sessionAmr(email)).some((amr) => ['pwd', 'hwk', 'mfa'].every((m) => amr.includes(m))), 'password, then the passkey');
      await authenticator.setUserVerification(true);

      // Removing needs a recent sign-in: "Confirm it's you" offers the passkey, then the removal is done again.
      server.clock!.advance(11 * 60_000);
      await section.getByRole('button', { name: 'Remove passkey Work laptop' }).click();
      await page.waitForLoadState();
      assert.equal(await page.locator('h1').innerText(), "Confirm it's you");
      const confirm = page.getByRole('button', { name: 'Confirm with a passkey' });
      await confirm.waitFor({ state: 'visible' });
      assert.equal(await page.getByLabel('Code from your authenticator app').count(), 0, 'passkeys only: no code form');
      await confirm.click();
      await page.waitForURL(`${server.origin}/account#passkeys`);
      assert.equal(await section.locator('li', { hasText: 'Work laptop' }).count(), 1, 'confirming is not removing');
      await section.getByRole('button', { name: 'Remove passkey Work laptop' }).click();
      await page.waitForURL(`${server.origin}/account#passkeys`);
      assert.match(await page.getByRole('status').innerText(), /passkey is removed/);
      assert.match(await section.innerText(), /None yet/);
      assert.equal(dialogs.length, 2, 'the enhancement script asked before each removal');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('keeps the last way in: an account with no password cannot remove its only passkey (409, shown in the section)', async () => {
    const email = uniqueEmail();
    const context = await newContext(browser);
    const page = await context.newPage();
    const problems = watchConsole(page);
    acceptDialogs(page);
    await virtualAuthenticator(context, page);
    try {
      // MAGIC_LINK_SIGNUP: the account is made by the link, without a password.
      await page.goto(`${server.origin}/login`);
      await page.getByText('E-mail me a sign-in link instead').click();
      await page.getByLabel('Address to send the link to').fill(email);
      await page.getByRole('button', { name: 'E-mail me a link' }).click();
      await page.waitForURL(`${server.origin}/login/magic-link`);
      await page.goto(await mailedLink(server, email, '/magic-link'));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${server.origin}/account`);

      await addPasskey(page, 'Phone');
      const section = page.locator('section#passkeys');
      const [refused] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/account/passkeys/remove')),
        section.getByRole('button', { name: 'Remove passkey Phone' }).click(),
      ]);
      assert.equal(refused.status(), 409);
      await page.waitForLoadState();
      assert.match(await section.getByRole('alert').innerText(), /only way to sign in/);
      assert.equal(await section.locator('li', { hasText: 'Phone' }).count(), 1, 'the passkey stays');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('MFA_REQUIRED_ROLES: a user who must add a second factor is offered a passkey too, and the passkey meets the requirement', async () => {
    const strict = await startPageServer({ localhost: true, fakeClock: Date.now(), env: { MFA_REQUIRED_ROLES: 'user' } });
    const context = await newContext(browser);
    try {
      const email = uniqueEmail('strict');
      assert.equal((await call(strict.app, 'POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Strict' } })).statusCode, 201);
      const page = await context.newPage();
      const problems = watchConsole(page);
      await virtualAuthenticator(context, page);
      await page.goto(`${strict.origin}/login`);
      await page.getByLabel('Email', { exact: true }).fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(`${strict.origin}/account`);
      assert.match(await page.locator('main').innerText(), /add an authenticator app or a passkey/);
      assert.deepEqual(await page.locator('section').evaluateAll((all) => all.map((s) => s.id)), ['mfa', 'passkeys'], 'only the ways to a second factor');
      assert.equal(await page.getByRole('button', { name: 'Change password' }).count(), 0);

      const section = page.locator('section#passkeys');
      await section.getByLabel('Name for the passkey').fill('Laptop');
      await section.getByRole('button', { name: 'Add a passkey' }).click();
      const done = section.locator('[data-passkey-done]');
      await done.waitFor({ state: 'visible' });
      assert.equal(await done.locator('.passkey-codes code').count(), 10);
      await done.getByRole('button', { name: 'I have saved them' }).click();
      await page.getByRole('button', { name: 'Change password' }).waitFor();
      assert.equal(await page.locator('section#passkeys li', { hasText: 'Laptop' }).count(), 1, 'the whole account page, with the passkey');
      assert.doesNotMatch(await page.locator('main').innerText(), /Your role needs two-step verification/);
      const user = await strict.runtime.ctx.users.findByEmail(email);
      assert.equal(await strict.runtime.ctx.factors.countConfirmed(user!.id), 1);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      await strict.close();
    }
  });

  it('without JavaScript: no passkey button, and the password sign-in and /account work', async () => {
    const email = uniqueEmail();
    await signUp(email);
    const context = await newContext(browser, { javaScriptEnabled: false });
    const page = await context.newPage();
    try {
      await page.goto(`${server.origin}/login`);
      assert.equal(await page.getByRole('button', { name: 'Sign in with a passkey' }).count(), 0);
      await submitPassword(page, email);
      const section = page.locator('section#passkeys');
      assert.match(await section.innerText(), /Adding a passkey needs JavaScript/);
      assert.equal(await section.getByRole('button', { name: 'Add a passkey' }).count(), 0);
    } finally {
      await context.close();
    }
  });

  it('serves the WebAuthn library and the passkey script from this origin, cached by content', async () => {
    for (const path of ['/assets/simplewebauthn-browser.js', '/assets/passkeys.js']) {
      const res = await call(server.app, 'GET', path);
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/javascript/);
      assert.match(String(res.headers['cache-control']), /immutable/);
    }
    const login = await call(server.app, 'GET', '/login');
    assert.match(login.body, /<script src="\/assets\/simplewebauthn-browser\.js\?v=[\w-]+" defer><\/script>\n<script src="\/assets\/passkeys\.js\?v=/);
  });
});
