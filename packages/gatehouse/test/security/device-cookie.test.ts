// Attack catalogue: aiming the account lockout at its owner (issue 14). Five wrong passwords from anywhere used to
// lock the owner out for RATE_LIMIT_LOGIN_ACCOUNT's window. With device cookies (OWASP "Slow Down Online Guessing
// Attacks with Device Cookies"), a browser that signed in to the account before counts its failures in a bucket
// of its own: the attacker elsewhere is locked out, the owner's browser is not. The cookie of another account, a
// forged or tampered cookie, and a cookie that used up its own tries exempt nothing. The same holds for the
// wrong codes of the MFA second step.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { codeAt } from '../../src/methods/totp/totp.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, cookiesOf, expectError, registerUser } from '../helpers/http.ts';

const T0 = Date.UTC(2026, 5, 1, 8, 0, 0);
const OWNER_IP = '192.0.2.10';
let attackerIp = 0;
/** A fresh address for each guess, so only the per-account limit can stop the attacker. */
const attacker = () => `198.51.100.${++attackerIp % 250}`;
const WRONG = 'wrong password 123';

let server: TestServer;
before(async () => {
  server = await startTestServer({ fakeClock: T0, env: { LOG_LEVEL: 'warn', RATE_LIMIT_LOGIN_ACCOUNT: '5/15m', RATE_LIMIT_LOGIN_IP: '1000/15m' } });
});
after(() => server.close());

function loginWith(email: string, options: { password?: string; device?: string; ip?: string; mode?: string } = {}): Promise<LightMyRequestResponse> {
  return call(server.app, 'POST', '/auth/login', {
    body: { email, password: options.password ?? PASSWORD, ...(options.mode ? { mode: options.mode } : {}) },
    cookies: options.device ? { gh_device: options.device } : undefined,
    ip: options.ip ?? OWNER_IP,
  });
}

/** A sign-in in a browser mode from the owner's address; its device cookie. */
async function deviceOf(email: string, mode = 'session'): Promise<string> {
  const res = await loginWith(email, { mode });
  assert.equal(res.statusCode, 200, res.body);
  const device = cookiesOf(res).gh_device?.value;
  assert.ok(device, `a device cookie after a ${mode}-mode sign-in`);
  return device;
}

async function lockOutFromElsewhere(email: string): Promise<void> {
  for (let i = 0; i < 5; i++) expectError(await loginWith(email, { password: WRONG, ip: attacker() }), 401, 'invalid_credentials');
  expectError(await loginWith(email, { ip: attacker() }), 429, 'rate_limited');
}

describe('the device cookie', () => {
  it('is issued after a sign-in in the cookie and session modes: HttpOnly, SameSite=Lax, Path=/, a year; never in token mode nor with a challenge', async () => {
    const { email, res: registered } = await registerUser(server.app, { mode: 'session' });
    assert.ok(cookiesOf(registered).gh_device, 'a sign-up that signs in is a sign-in');
    for (const mode of ['session', 'cookie']) {
      const cookie = cookiesOf(await loginWith(email, { mode })).gh_device!;
      assert.match(cookie.value, /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
      assert.match(cookie.raw, /; HttpOnly/i);
      assert.match(cookie.raw, /; SameSite=Lax/i);
      assert.match(cookie.raw, /; Path=\/(;|$)/);
      assert.match(cookie.raw, /; Max-Age=31536000/);
      assert.doesNotMatch(cookie.raw, /; Secure|Domain=/i, 'plain http: no Secure');
    }
    const first = await deviceOf(email);
    assert.notEqual(await deviceOf(email), first, 'each sign-in gets a new nonce');
    assert.equal((await loginWith(email)).headers['set-cookie'], undefined, 'token mode sets no cookie at all');
  });

  it('over https is __Host-gh_device (Secure), and only that name is read', async () => {
    const https = await startTestServer({ env: { LOG_LEVEL: 'warn', PUBLIC_URL: 'https://auth.example.com', RATE_LIMIT_LOGIN_ACCOUNT: '5/15m' } });
    try {
      const { email } = await registerUser(https.app);
      const signedIn = await call(https.app, 'POST', '/auth/login', { body: { email, password: PASSWORD, mode: 'session' } });
      const cookies = cookiesOf(signedIn);
      assert.equal(cookies.gh_device, undefined);
      const device = cookies['__Host-gh_device']!;
      assert.match(device.raw, /; Secure/);
      assert.match(device.raw, /; Path=\/(;|$)/);
      assert.doesNotMatch(device.raw, /Domain=/i);
      for (let i = 0; i < 5; i++) await call(https.app, 'POST', '/auth/login', { body: { email, password: WRONG }, ip: attacker() });
      // A sibling subdomain could set the unprefixed name: it is not read.
      expectError(await call(https.app, 'POST', '/auth/login', { body: { email, password: PASSWORD }, cookies: { gh_device: device.value } }), 429, 'rate_limited');
      const owner = await call(https.app, 'POST', '/auth/login', { body: { email, password: PASSWORD }, cookies: { '__Host-gh_device': device.value } });
      assert.equal(owner.statusCode, 200, owner.body);
    } finally {
      await https.close();
    }
  });
});

describe('an attacker without the cookie cannot lock the owner out', () => {
  it('five wrong passwords from elsewhere: the attacker gets 429, the owner with the cookie of an earlier sign-in still signs in (API)', async () => {
    const { email } = await registerUser(server.app);
    const device = await deviceOf(email);
    await lockOutFromElsewhere(email);
    // Even the right password is refused to a browser that never signed in here.
    expectError(await loginWith(email, { ip: attacker() }), 429, 'rate_limited');
    expectError(await loginWith(email), 429, 'rate_limited');
    // The owner's browser, in every mode.
    for (const mode of ['token', 'cookie', 'session']) {
      const res = await loginWith(email, { device, mode });
      assert.equal(res.statusCode, 200, `${mode}: ${res.body}`);
    }
    // A typo on the owner's device is the device's failure, not a 429.
    expectError(await loginWith(email, { device, password: WRONG }), 401, 'invalid_credentials');
    // And the owner signing in hands the attacker no fresh tries.
    expectError(await loginWith(email, { password: WRONG, ip: attacker() }), 429, 'rate_limited');
  });

  it('the same on the sign-in page', async () => {
    const { email } = await registerUser(server.app);
    const device = await deviceOf(email);
    await lockOutFromElsewhere(email);
    const page = await call(server.app, 'GET', '/login');
    const csrfCookie = cookiesOf(page).gh_csrf!.value;
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const post = (cookies: Record<string, string>) =>
      call(server.app, 'POST', '/login', {
        body: new URLSearchParams({ email, password: PASSWORD, _csrf: token }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        cookies: { gh_csrf: csrfCookie, ...cookies },
        ip: OWNER_IP,
      });
    assert.equal((await post({})).statusCode, 429, 'no device cookie: locked out');
    const signedIn = await post({ gh_device: device });
    assert.equal(signedIn.statusCode, 303, signedIn.body);
    assert.ok(cookiesOf(signedIn).gh_session?.value, 'signed in');
    assert.ok(cookiesOf(signedIn).gh_device?.value, 'with a fresh device cookie');
  });
});

describe('what does not exempt', () => {
  it('the device cookie of another account', async () => {
    const victim = await registerUser(server.app);
    const other = await registerUser(server.app);
    const otherDevice = await deviceOf(other.email);
    await lockOutFromElsewhere(victim.email);
    expectError(await loginWith(victim.email, { device: otherDevice }), 429, 'rate_limited');
    assert.equal((await loginWith(other.email, { device: otherDevice })).statusCode, 200, 'it still works for its own account');
  });

  it('a forged or tampered cookie', async () => {
    const { email } = await registerUser(server.app);
    const device = await deviceOf(email);
    await lockOutFromElsewhere(email);
    const [nonce, mac] = device.split('.') as [string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const forged = [
      `${flip(nonce, 3)}.${mac}`,
      `${nonce}.${flip(mac, 10)}`,
      `${nonce}.${'A'.repeat(43)}`,
      `${'A'.repeat(43)}.${mac}`,
      nonce,
      `${nonce}.${mac}.x`,
      `${nonce}.${mac}`.toUpperCase(),
      '',
      'x'.repeat(2000),
    ];
    for (const value of forged) expectError(await loginWith(email, { device: value }), 429, 'rate_limited');
    assert.equal((await loginWith(email, { device })).statusCode, 200);
  });

  it('a cookie after its own five failures: they lock out only that cookie, and then it counts against the account like any unknown device', async () => {
    const { email } = await registerUser(server.app);
    const device = await deviceOf(email);
    const otherBrowser = await deviceOf(email, 'cookie');
    for (let i = 0; i < 5; i++) expectError(await loginWith(email, { device, password: WRONG }), 401, 'invalid_credentials');
    // Its failures were its own: the account is not locked, another device of the owner is not either.
    assert.equal((await loginWith(email, { ip: '192.0.2.77' })).statusCode, 200);
    assert.equal((await loginWith(email, { device: otherBrowser })).statusCode, 200);
    // Now it is an unknown device: five more failures lock the account, and the cookie does not get past that.
    for (let i = 0; i < 5; i++) expectError(await loginWith(email, { device, password: WRONG }), 401, 'invalid_credentials');
    expectError(await loginWith(email, { ip: '192.0.2.77' }), 429, 'rate_limited');
    expectError(await loginWith(email, { device }), 429, 'rate_limited');
    assert.equal((await loginWith(email, { device: otherBrowser })).statusCode, 200, 'a device that did not fail is still exempt');
    // The window ends the device's lockout like the account's.
    server.clock!.advance(15 * 60_000 + 1);
    assert.equal((await loginWith(email, { device })).statusCode, 200);
  });
});

describe('the second step of an account with a second factor', () => {
  /** A user with a confirmed TOTP factor and the device cookie of a finished two-step sign-in. */
  async function enrolledOwner(): Promise<{ email: string; secret: string; device: string }> {
    const { email, body } = await registerUser(server.app);
    const started = (await call(server.app, 'POST', '/auth/mfa/totp', { token: body.accessToken, body: { name: 'Phone' } })).json();
    const confirmed = await call(server.app, 'POST', `/auth/mfa/totp/${started.id}/confirm`, { token: body.accessToken, body: { code: codeAt(started.secret, server.clock!.now) } });
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    server.clock!.advance(30_000);
    const ticket = (await loginWith(email, { mode: 'session' })).json();
    assert.equal(ticket.mfaRequired, true);
    const done = await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: ticket.mfaTicket, code: codeAt(started.secret, server.clock!.now) }, ip: OWNER_IP });
    assert.equal(done.statusCode, 200, done.body);
    server.clock!.advance(30_000);
    return { email, secret: started.secret, device: cookiesOf(done).gh_device!.value };
  }

  function verify(mfaTicket: string, code: string, options: { device?: string; ip?: string } = {}) {
    return call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket, code }, cookies: options.device ? { gh_device: options.device } : undefined, ip: options.ip ?? OWNER_IP });
  }

  it('an attacker with the password whose wrong codes fill the account bucket is locked out; the owner with the cookie signs in', async () => {
    const owner = await enrolledOwner();
    const ticket = (await loginWith(owner.email, { ip: attacker() })).json().mfaTicket as string;
    for (let i = 0; i < 5; i++) expectError(await verify(ticket, '000000', { ip: attacker() }), 401, 'invalid_mfa_code');
    expectError(await loginWith(owner.email, { ip: attacker() }), 429, 'rate_limited');
    expectError(await loginWith(owner.email), 429, 'rate_limited');
    const mine = await loginWith(owner.email, { device: owner.device, mode: 'session' });
    assert.equal(mine.json().mfaRequired, true, mine.body);
    // The owner's own wrong code is the device's failure; the right one finishes the sign-in.
    expectError(await verify(mine.json().mfaTicket, '000000', { device: owner.device }), 401, 'invalid_mfa_code');
    const done = await verify(mine.json().mfaTicket, codeAt(owner.secret, server.clock!.now), { device: owner.device });
    assert.equal(done.statusCode, 200, done.body);
    assert.ok(cookiesOf(done).gh_session?.value);
  });

  it('wrong codes with a device cookie lock out only that cookie; then it is refused while the account is locked', async () => {
    const owner = await enrolledOwner();
    let ticket = (await loginWith(owner.email, { device: owner.device })).json().mfaTicket as string;
    for (let i = 0; i < 5; i++) expectError(await verify(ticket, '000000', { device: owner.device }), 401, 'invalid_mfa_code');
    // The account was not counted: a password step from elsewhere still gets its challenge.
    assert.equal((await loginWith(owner.email, { ip: '192.0.2.78' })).json().mfaRequired, true);
    // Locked out device: it now counts against the account, and the account's limit holds for it too.
    ticket = (await loginWith(owner.email, { device: owner.device })).json().mfaTicket as string;
    assert.ok(ticket);
    for (let i = 0; i < 5; i++) expectError(await verify(ticket, '000000', { device: owner.device }), 401, 'invalid_mfa_code');
    expectError(await loginWith(owner.email, { device: owner.device }), 429, 'rate_limited');
    expectError(await loginWith(owner.email, { ip: '192.0.2.78' }), 429, 'rate_limited');
  });
});
