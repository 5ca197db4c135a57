// The browser example as a user runs it: a real Gatehouse (`gatehouse serve`, SQLite in a temporary DATA_DIR)
// and the example's own server (serve.js, which serves the page and passes /auth/* to Gatehouse), each a child
// process on a free loopback port, and the page driven in headless Chromium: create an account, see the
// signed-in state, reload and still be signed in (the refresh cookie), log out, log in again; and sign in with
// the code of an "e-mail me a link" message (read from Gatehouse's outbox folder); and, with Chromium's virtual
// authenticator at localhost, add a passkey after signing in, log out and sign in with the passkey alone (at
// 127.0.0.1 the page offers none: WebAuthn refuses an IP address as the relying party id). Any CSP
// violation, page error or failed request for one of the page's own files fails the test.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../../..');
const GATEHOUSE_BIN = path.join(ROOT, 'packages/gatehouse/bin/gatehouse.js');
const SERVE = path.resolve(here, '../serve.js');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PASSWORD = 'correct horse battery staple';

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const children = [];
/** A child process whose output is kept (and printed if the test fails) and which is killed at the end. */
function start(name, args, env) {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stdout.on('data', (d) => output.push(String(d)));
  child.stderr.on('data', (d) => output.push(String(d)));
  children.push({ name, child, output });
  return child;
}

async function waitFor(url, name) {
  for (let i = 0; i < 300; i++) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    const failed = children.find((c) => c.name === name && c.child.exitCode !== null);
    if (failed) throw new Error(`${name} exited with ${failed.child.exitCode}:\n${failed.output.join('')}`);
    await sleep(100);
  }
  throw new Error(`${name} did not answer ${url} within 30 s`);
}

let dataDir;
let pageOrigin;
/** The same page at localhost: a host name, which WebAuthn accepts as the relying party id. */
let passkeyOrigin;
let browser;

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-example-browser-'));
  const gatehousePort = await freePort();
  const pagePort = await freePort();
  const gatehouseUrl = `http://127.0.0.1:${gatehousePort}`;
  pageOrigin = `http://127.0.0.1:${pagePort}`;
  passkeyOrigin = `http://localhost:${pagePort}`;
  // INIT_CWD: the directory Gatehouse reads .env from, so a developer's .env at the root changes nothing here.
  // Passkeys: the relying party id is PUBLIC_URL's host (localhost), and the page's origin is allowed with
  // WEBAUTHN_ORIGINS, as a deployment that serves its app and Gatehouse on two origins of one domain would.
  start('gatehouse', [GATEHOUSE_BIN, 'serve'], {
    DATA_DIR: dataDir,
    INIT_CWD: dataDir,
    PORT: String(gatehousePort),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    PUBLIC_URL: `http://localhost:${gatehousePort}`,
    WEBAUTHN_ORIGINS: passkeyOrigin,
  });
  start('serve.js', [SERVE], { PORT: String(pagePort), GATEHOUSE_URL: gatehouseUrl });
  await Promise.all([waitFor(`${gatehouseUrl}/health`, 'gatehouse'), waitFor(`${pageOrigin}/`, 'serve.js')]);
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  for (const { child } of children) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(children.map(({ child }) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it('registers, stays signed in across a reload, logs out and logs in again, with no CSP violation', async (t) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = await watch(page);

  const status = page.locator('#status');
  const email = `ada.${process.pid}@example.com`;
  try {
    await page.goto(`${pageOrigin}/`);
    await assertStatus(status, 'Signed out');
    assert.equal(await page.locator('#signin').isVisible(), true, 'the sign-in form is shown');
    assert.equal(await page.locator('#signedin').isVisible(), false);
    assert.equal(await page.locator('#passkey-signin').isVisible(), false, 'no passkey button at an IP address');
    // The stylesheet applied: its rules are in effect (an inline <style> under this CSP would not be).
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('form')).display), 'grid');

    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[value=register]');
    await assertStatus(status, `Signed in as ${email}`);
    assert.equal(await page.locator('#signedin').isVisible(), true);
    assert.equal(await page.locator('#signin').isVisible(), false);

    // The token is in memory only: a reload resumes the session through the HttpOnly refresh cookie.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.equal(stored, '{}{}', 'nothing in web storage');
    await page.reload();
    await assertStatus(status, /^Signed in as /);
    await page.click('#me');
    await page.waitForFunction(() => document.getElementById('output').textContent.includes('"email"'));
    assert.match(await page.locator('#output').textContent(), new RegExp(email.replace(/\./g, '\\.')));

    await page.click('#logout');
    await assertStatus(status, 'Signed out');
    await page.reload();
    await assertStatus(status, 'Signed out');

    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[value=login]');
    await assertStatus(status, `Signed in as ${email}`);
    await page.reload();
    await assertStatus(status, /^Signed in as /);
  } catch (err) {
    t.diagnostic(`page status: ${await status.textContent().catch(() => '?')}; output: ${await page.locator('#output').textContent().catch(() => '?')}`);
    for (const { name, output } of children) t.diagnostic(`${name}:\n${output.join('')}`);
    throw err;
  } finally {
    t.diagnostic(`browser problems: ${problems.length ? problems.join('\n') : 'none'}`);
    await context.close();
  }
  assert.deepEqual(problems, [], 'no CSP violation, page error or failed page file');
});

it('signs in with an e-mailed code ("e-mail me a link"), and the session survives a reload', async (t) => {
  const email = `grace.${process.pid}@example.com`;
  // An account to sign in to (MAGIC_LINK_SIGNUP is off by default: unknown addresses get no mail).
  const registered = await fetch(`${pageOrigin}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD, name: 'Grace' }) });
  assert.equal(registered.status, 201, await registered.clone().text());
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = await watch(page);
  const status = page.locator('#status');
  try {
    await page.goto(`${pageOrigin}/`);
    await assertStatus(status, 'Signed out');
    assert.equal(await page.locator('#magic').isVisible(), true, 'the "e-mail me a link" form is shown');
    assert.equal(await page.locator('#magic-code').isVisible(), false, 'no code field before a link is asked for');

    await page.fill('input[name=magic_email]', email);
    await page.click('#magic button');
    await page.locator('#magic-code').waitFor({ state: 'visible' });
    assert.match(await page.locator('#output').textContent(), /a sign-in link and code are on their way/);

    // Without SMTP_URL, Gatehouse writes mail to DATA_DIR/outbox as .eml files.
    const code = await codeFromOutbox(email);
    await page.fill('input[name=code]', code);
    await page.click('#magic-code button');
    await assertStatus(status, `Signed in as ${email}`);
    assert.equal(await page.locator('#magic').isVisible(), false);
    assert.equal(await page.locator('#magic-code').isVisible(), false);

    // Signed in in cookie mode: a reload resumes the session.
    await page.reload();
    await assertStatus(status, `Signed in as ${email}`);
    await page.click('#me');
    await page.waitForFunction(() => document.getElementById('output').textContent.includes('"email"'));
    assert.match(await page.locator('#output').textContent(), new RegExp(email.replace(/\./g, '\\.')));

    // The code works once.
    const reused = await fetch(`${pageOrigin}/auth/magic-link/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, code }) });
    assert.ok(reused.status >= 400 && reused.status < 500, `a used code is refused (${reused.status})`);
  } catch (err) {
    t.diagnostic(`page status: ${await status.textContent().catch(() => '?')}; output: ${await page.locator('#output').textContent().catch(() => '?')}`);
    for (const { name, output } of children) t.diagnostic(`${name}:\n${output.join('')}`);
    throw err;
  } finally {
    t.diagnostic(`browser problems: ${problems.length ? problems.join('\n') : 'none'}`);
    await context.close();
  }
  assert.deepEqual(problems, [], 'no CSP violation, page error or failed page file');
});

it('adds a passkey after signing in, then signs in with it alone after logging out (at localhost)', async (t) => {
  const email = `hopper.${process.pid}@example.com`;
  const registered = await fetch(`${pageOrigin}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD, name: 'Grace Hopper' }) });
  assert.equal(registered.status, 201, await registered.clone().text());
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = await watch(page);
  const status = page.locator('#status');
  const output = page.locator('#output');
  // Chromium's virtual authenticator: a platform authenticator with discoverable credentials and user verification.
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  try {
    await page.goto(`${passkeyOrigin}/`);
    await assertStatus(status, 'Signed out');
    assert.equal(await page.locator('#passkey-login').isVisible(), true, 'the passkey button at a host name');

    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[value=login]');
    await assertStatus(status, `Signed in as ${email}`);

    // registerPasskey(): a fresh sign-in is a recent one; the account's first factor brings its recovery codes.
    await page.click('#passkey-add');
    await page.waitForFunction(() => document.getElementById('output').textContent.includes('recoveryCodes'));
    const added = JSON.parse(await output.textContent());
    assert.equal(added.passkey, 'Example passkey');
    assert.equal(added.recoveryCodes.length, 10);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true, 'discoverable: it signs in without an e-mail address');

    await page.click('#logout');
    await assertStatus(status, 'Signed out');

    // signInWithPasskey(): usernameless, nothing typed; user verification makes it two factors on its own.
    await page.click('#passkey-login');
    await assertStatus(status, `Signed in as ${email}`);
    await page.reload();
    await assertStatus(status, `Signed in as ${email}`);
    await page.click('#sessions');
    await page.waitForFunction(() => document.getElementById('output').textContent.includes('"sessions"'));
    // The password sign-in's browser session ended at logout: the one left in this browser is the passkey's
    // (the other is the registration's, from this test's own fetch).
    const browserSessions = JSON.parse(await output.textContent()).sessions.filter((s) => s.userAgent !== 'node');
    assert.deepEqual(browserSessions.map((s) => s.current), [true]);
  } catch (err) {
    t.diagnostic(`page status: ${await status.textContent().catch(() => '?')}; output: ${await output.textContent().catch(() => '?')}`);
    for (const { name, output: lines } of children) t.diagnostic(`${name}:\n${lines.join('')}`);
    throw err;
  } finally {
    t.diagnostic(`browser problems: ${problems.length ? problems.join('\n') : 'none'}`);
    await context.close();
  }
  assert.deepEqual(problems, [], 'no CSP violation, page error or failed page file');
});

/** The 6-digit code of the newest sign-in mail to `email` in Gatehouse's outbox (the mail queue sends it soon after). */
async function codeFromOutbox(email) {
  const dir = path.join(dataDir, 'outbox');
  for (let i = 0; i < 150; i++) {
    let files = [];
    try {
      files = readdirSync(dir).filter((name) => name.endsWith('.eml')).sort().reverse();
    } catch {
      // no mail yet
    }
    for (const name of files) {
      // Quoted-printable: undo soft line breaks before looking for the code.
      const text = readFileSync(path.join(dir, name), 'utf8').replace(/=\r?\n/g, '');
      if (!new RegExp(`^To: .*${email.replace(/\./g, '\\.')}`, 'mi').test(text)) continue;
      const match = /where you asked: (\d{6})/.exec(text);
      if (match) return match[1];
    }
    await sleep(100);
  }
  assert.fail(`no sign-in mail to ${email} in ${dir} within 15 s`);
}

/** Records CSP violations, page errors and failed page files of `page` into the array it returns. */
async function watch(page) {
  const problems = [];
  // CSP violations reach the console as errors ("Refused to …"); the event is recorded too, in case a
  // Chromium version words the message differently.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`));
  });
  page.on('console', (message) => {
    if (message.type() !== 'error' && !/Content Security Policy|CSP/i.test(message.text())) return;
    // Chromium logs the 401 of the refresh the page tries on load while signed out: that one is expected.
    const from = message.location()?.url ?? '';
    if (/^Failed to load resource: .* 401/.test(message.text()) && from.endsWith('/auth/refresh')) return;
    problems.push(`console ${message.type()}: ${message.text()} (${from})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('response', (res) => {
    // The page's own files must all load; a 401 from /auth/refresh while signed out is the expected answer.
    if (!new URL(res.url()).pathname.startsWith('/auth/') && res.status() >= 400) problems.push(`${res.status()} for ${res.url()}`);
  });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  return problems;
}

/** Waits (bounded) for the status line to read `expected`. */
async function assertStatus(status, expected) {
  const matches = (text) => (typeof expected === 'string' ? text === expected : expected.test(text));
  let text = '';
  for (let i = 0; i < 100; i++) {
    text = (await status.textContent()) ?? '';
    if (matches(text)) return;
    await sleep(100);
  }
  assert.fail(`status is "${text}", expected ${expected}`);
}
