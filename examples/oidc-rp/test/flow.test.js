// The relying party as a user runs it: a real Gatehouse (`gatehouse serve`, SQLite in a temporary DATA_DIR,
// PUBLIC_URL = its loopback address), a first-party client registered with the CLI in the same DATA_DIR, and
// the example's server.js, each a child process on a free loopback port. A "browser" (fetch with a cookie jar
// per origin, following redirects by hand) signs in at Gatehouse (POST /auth/login, mode session), then goes
// through the RP's sign-in, refresh and logout, and checks what each side shows.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../../..');
const GATEHOUSE_BIN = path.join(ROOT, 'packages/gatehouse/bin/gatehouse.js');
const SERVER = path.resolve(here, '../server.js');
const PASSWORD = 'correct horse battery staple';

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const children = [];
function start(name, args, env) {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stdout.on('data', (d) => output.push(String(d)));
  child.stderr.on('data', (d) => output.push(String(d)));
  children.push({ name, child, output });
  return child;
}

async function run(args, env) {
  const child = start(`gatehouse ${args[0]}`, [GATEHOUSE_BIN, ...args], env);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  const { output } = children.at(-1);
  return { code, output: output.join('') };
}

async function waitFor(url, name) {
  for (let i = 0; i < 300; i++) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    const failed = children.find((c) => c.name === name && c.child.exitCode !== null);
    if (failed) throw new Error(`${name} exited with ${failed.child.exitCode}:\n${failed.output.join('')}`);
    await sleep(100);
  }
  throw new Error(`${name} did not answer ${url} within 30 s`);
}

/** A browser's cookies, kept per origin (enough here: each server's cookies have distinct names). */
class Browser {
  jars = new Map();
  jar(url) {
    const origin = new URL(url).origin;
    if (!this.jars.has(origin)) this.jars.set(origin, new Map());
    return this.jars.get(origin);
  }
  cookie(url, name) {
    return this.jar(url).get(name);
  }
  async request(url, init = {}) {
    const jar = this.jar(url);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, ...(cookie ? { cookie } : {}) } });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }
  /** Follows redirects (a 303 or a 302 after a POST turns into a GET) and returns the last page. */
  async go(url, init = {}) {
    const hops = [];
    let current = new URL(url);
    let options = init;
    for (let i = 0; i < 20; i++) {
      const res = await this.request(current, options);
      hops.push(`${res.status} ${options.method ?? 'GET'} ${current.href}`);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.arrayBuffer();
        current = new URL(location, current);
        options = {};
        continue;
      }
      return { url: current, status: res.status, body: await res.text(), hops };
    }
    throw new Error(`too many redirects:\n${hops.join('\n')}`);
  }
  form(url, fields) {
    return this.go(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  }
}

let dataDir;
let gatehouseUrl;
let rpUrl;

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-example-oidc-rp-'));
  const gatehousePort = await freePort();
  const rpPort = await freePort();
  gatehouseUrl = `http://127.0.0.1:${gatehousePort}`;
  rpUrl = `http://127.0.0.1:${rpPort}`;
  // INIT_CWD: the directory Gatehouse reads .env from, so a developer's .env at the root changes nothing here.
  const env = { DATA_DIR: dataDir, INIT_CWD: dataDir, LOG_LEVEL: 'warn' };
  // Registered first: the CLI also writes the development secret into DATA_DIR if there is none yet.
  const created = await run(['clients', 'create', '--name', 'Example RP', '--redirect-uri', `${rpUrl}/callback`, '--post-logout-redirect-uri', `${rpUrl}/signed-out`, '--first-party'], env);
  assert.equal(created.code, 0, created.output);
  const clientId = /Client id: (\S+)/.exec(created.output)[1];
  const clientSecret = /Client secret \(shown once\): (\S+)/.exec(created.output)[1];
  start('gatehouse', [GATEHOUSE_BIN, 'serve'], { ...env, PORT: String(gatehousePort), HOST: '127.0.0.1', PUBLIC_URL: gatehouseUrl });
  await waitFor(`${gatehouseUrl}/health`, 'gatehouse');
  start('server.js', [SERVER], { PORT: String(rpPort), GATEHOUSE_ISSUER: gatehouseUrl, CLIENT_ID: clientId, CLIENT_SECRET: clientSecret });
  await waitFor(`${rpUrl}/`, 'server.js');
});

after(async () => {
  for (const { child } of children) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(children.map(({ child }) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it('signs in with code + PKCE, shows the claims and userinfo, refreshes, and logs out of Gatehouse too', async (t) => {
  const browser = new Browser();
  const email = `ada.${process.pid}@example.com`;
  try {
    const registered = await fetch(`${gatehouseUrl}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD, name: 'Ada' }) });
    const registeredBody = await registered.text();
    assert.equal(registered.status, 201, registeredBody);
    const { user } = JSON.parse(registeredBody);

    // Signed in at Gatehouse, as the sign-in page would leave the browser: the session cookie.
    const login = await browser.request(`${gatehouseUrl}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD, mode: 'session' }) });
    const loginBody = await login.text();
    assert.equal(login.status, 200, loginBody);
    assert.ok(browser.cookie(gatehouseUrl, 'gh_session'), 'the Gatehouse session cookie');

    const home = await browser.go(`${rpUrl}/`);
    assert.match(home.body, /<p id="status">Signed out<\/p>/);

    // /login → Gatehouse's authorize → its interaction (signed in, first-party: no page) → /callback → /.
    const signedIn = await browser.go(`${rpUrl}/login`);
    assert.equal(signedIn.status, 200, `${signedIn.hops.join('\n')}\n${signedIn.body}`);
    assert.equal(signedIn.url.href, `${rpUrl}/`, signedIn.hops.join('\n'));
    assert.ok(signedIn.hops.some((hop) => hop.includes(`${gatehouseUrl}/oauth2/authorize?`)), 'went through Gatehouse');
    const callback = signedIn.hops.find((hop) => hop.includes(`${rpUrl}/callback?`));
    assert.ok(callback, 'came back to the redirect URI');
    assert.ok(!/[?&]error=/.test(callback), callback);
    assert.match(signedIn.body, new RegExp(`<span id="email">${email.replace(/\./g, '\\.')}</span>`));
    assert.match(signedIn.body, new RegExp(`<code id="sub">${user.id}</code>`), 'sub is the Gatehouse user id');
    const claims = JSON.parse(decode(/<pre id="claims">([^<]*)<\/pre>/.exec(signedIn.body)[1]));
    assert.equal(claims.iss, gatehouseUrl);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.email, email);
    const userinfo = JSON.parse(decode(/<pre id="userinfo">([^<]*)<\/pre>/.exec(signedIn.body)[1]));
    assert.equal(userinfo.sub, user.id);
    assert.equal(userinfo.email, email);
    assert.match(signedIn.body, /refresh token: yes/);

    // Refresh (offline_access): new tokens, userinfo fetched with the new access token.
    const refreshed = await browser.form(`${rpUrl}/refresh`, {});
    assert.equal(refreshed.status, 200, refreshed.body);
    assert.match(refreshed.body, /<span id="refreshed">1<\/span>/);
    assert.match(refreshed.body, new RegExp(`<code id="sub">${user.id}</code>`));
    const again = await browser.form(`${rpUrl}/refresh`, {});
    assert.match(again.body, /<span id="refreshed">2<\/span>/, 'the rotated refresh token works');

    // RP-initiated logout: the RP sends the browser to Gatehouse's end-session endpoint, which asks to confirm.
    const confirm = await browser.form(`${rpUrl}/logout`, {});
    assert.equal(confirm.status, 200, confirm.hops.join('\n'));
    assert.equal(confirm.url.origin, gatehouseUrl, confirm.hops.join('\n'));
    const action = /<form[^>]*action="([^"]+)"/.exec(confirm.body)[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)[1];
    const done = await browser.form(new URL(action, gatehouseUrl), { xsrf, logout: 'yes' });
    assert.equal(done.url.href.split('?')[0], `${rpUrl}/signed-out`, done.hops.join('\n'));
    assert.match(done.body, /Signed out of Gatehouse and of this app\./, 'came back with the state the RP sent');

    const me = await browser.request(`${gatehouseUrl}/auth/me`);
    assert.equal(me.status, 401, 'the Gatehouse session ended');
    const after = await browser.go(`${rpUrl}/`);
    assert.match(after.body, /<p id="status">Signed out<\/p>/, 'the RP session ended');

    // Signing in again at the RP now needs a sign-in at Gatehouse: its authorize goes to the login page.
    const next = await browser.go(`${rpUrl}/login`);
    assert.equal(next.url.origin, gatehouseUrl);
    assert.equal(next.url.pathname, '/login', next.hops.join('\n'));
  } catch (err) {
    for (const { name, output } of children) t.diagnostic(`${name}:\n${output.join('')}`);
    throw err;
  }
});

function decode(html) {
  return html.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)));
}
