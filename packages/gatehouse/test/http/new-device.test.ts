// The new-device notice: a sign-in from a device and a network neither seen for the account is e-mailed, and
// the e-mail's "this wasn't me" link ends every session and sends a password reset, once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deviceOf, networkOf } from '../../src/sign-in/new-device.ts';
import { createUser } from '../../src/users/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, cookiesOf, expectError, uniqueEmail } from '../helpers/http.ts';
import { linkIn, startSmtpSink, type SmtpSink } from '../helpers/mail.ts';

const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const FIREFOX_LINUX_NEWER = 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const EDGE_WINDOWS = `${CHROME_WINDOWS} Edg/126.0.0.0`;
const NOTICE = 'A sign-in from a new device';

let smtp: SmtpSink;
let server: TestServer;

before(async () => {
  smtp = await startSmtpSink();
  server = await startTestServer({ env: { SMTP_URL: smtp.url }, fakeClock: Date.UTC(2026, 3, 1) });
});
after(async () => {
  await server.close();
  await smtp.close();
});

const settle = () => server.runtime.ctx.background.drain();

async function signIn(email: string, userAgent: string, ip: string) {
  const res = await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD }, headers: { 'user-agent': userAgent }, ip });
  assert.equal(res.statusCode, 200, res.body);
  await settle();
  return res.json();
}

/** Posts a page's form as a browser would: the page first (for the CSRF cookie and field), then the form. */
async function postPageForm(pagePath: string, fields: Record<string, string>) {
  const page = await call(server.app, 'GET', pagePath);
  assert.equal(page.statusCode, 200, page.body);
  const csrfCookie = cookiesOf(page).gh_csrf!.value;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return server.app.inject({
    method: 'POST',
    url: pagePath.split('?')[0]!,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `gh_csrf=${csrfCookie}` },
    payload: new URLSearchParams({ ...fields, _csrf: csrf }).toString(),
  });
}

async function notices(email: string) {
  await settle();
  return smtp.to(email).filter((m) => m.subject.startsWith(NOTICE));
}

/** An account made by an admin, so that its first sign-in is the first the account has. */
async function newAccount(): Promise<string> {
  const email = uniqueEmail('device');
  await createUser(server.runtime.ctx, { email, password: PASSWORD, emailVerified: true } as never);
  return email;
}

describe('device and network', () => {
  it('a device is the browser family and the OS, not their versions; a network is a /24 or a /64', () => {
    assert.equal(deviceOf(FIREFOX_LINUX), 'Firefox on Linux');
    assert.equal(deviceOf(FIREFOX_LINUX_NEWER), deviceOf(FIREFOX_LINUX));
    assert.equal(deviceOf(SAFARI_IPHONE), 'Safari on iOS');
    assert.equal(deviceOf(CHROME_WINDOWS), 'Chrome on Windows');
    assert.equal(deviceOf(EDGE_WINDOWS), 'Edge on Windows');
    assert.equal(deviceOf('curl/8.5.0'), 'curl');
    assert.equal(deviceOf(null), 'unknown');
    assert.equal(networkOf('203.0.113.77'), '203.0.113.0/24');
    assert.equal(networkOf('::ffff:203.0.113.9'), '203.0.113.0/24');
    assert.equal(networkOf('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  });
});

describe('the new-device notice', () => {
  it('is not sent for the first sign-in, a known device or a known network; a new device on a new network is told once', async () => {
    const email = await newAccount();
    await signIn(email, FIREFOX_LINUX, '192.0.2.10');
    assert.equal((await notices(email)).length, 0, 'the first sign-in has nothing to compare with');
    await signIn(email, FIREFOX_LINUX, '192.0.2.10');
    await signIn(email, FIREFOX_LINUX_NEWER, '198.51.100.7');
    await signIn(email, SAFARI_IPHONE, '192.0.2.200');
    assert.equal((await notices(email)).length, 0, 'same device, or same network: no notice');

    const stranger = await signIn(email, CHROME_WINDOWS, '203.0.113.50');
    const mails = await notices(email);
    assert.equal(mails.length, 1);
    assert.ok(mails[0]!.text.includes('Chrome on Windows') && mails[0]!.text.includes('203.0.113.0/24'), mails[0]!.text);
    assert.ok(stranger.accessToken, 'the sign-in itself goes through');
    const events = await server.runtime.ctx.audit.list({ userId: stranger.user.id, type: 'new_device_signin', limit: 10 });
    assert.equal(events.length, 1);
  });

  it('its link ends every session and mails a reset link, and works once', async () => {
    const email = await newAccount();
    const home = await signIn(email, FIREFOX_LINUX, '192.0.2.20');
    const stranger = await signIn(email, EDGE_WINDOWS, '2001:db8:77::5');
    const [mail] = await notices(email);
    assert.ok(mail, 'the notice arrived');
    const token = linkIn(mail, '/not-me').searchParams.get('token')!;

    const res = await call(server.app, 'POST', '/auth/not-me', { body: { token } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().sessionsEnded, 2);
    for (const session of [home, stranger]) {
      expectError(await call(server.app, 'GET', '/auth/me', { token: session.accessToken }), 401, 'token_revoked');
      expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: session.refreshToken } }), 401, 'invalid_refresh_token');
    }
    await settle();
    const reset = smtp.to(email).filter((m) => m.subject.startsWith('Reset'));
    assert.equal(reset.length, 1, 'a password reset link was sent');
    linkIn(reset[0]!, '/reset-password');
    const audit = await server.runtime.ctx.audit.list({ userId: home.user.id, type: 'not_me', limit: 10 });
    assert.equal(audit.length, 1);

    expectError(await call(server.app, 'POST', '/auth/not-me', { body: { token } }), 400, 'invalid_or_expired_token');
    expectError(await call(server.app, 'POST', '/auth/not-me', { body: { token: 'ghn_forged' } }), 400, 'invalid_or_expired_token');
  });

  it('the link opens a page that only asks; its form signs out everywhere', async () => {
    const email = await newAccount();
    const home = await signIn(email, FIREFOX_LINUX, '192.0.2.30');
    await signIn(email, SAFARI_IPHONE, '198.51.100.99');
    const [mail] = await notices(email);
    const link = linkIn(mail!, '/not-me');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: home.accessToken })).statusCode, 200, 'opening the link ends nothing');
    const posted = await postPageForm(`${link.pathname}${link.search}`, { token: link.searchParams.get('token')! });
    assert.equal(posted.statusCode, 303, posted.body);
    expectError(await call(server.app, 'GET', '/auth/me', { token: home.accessToken }), 401, 'token_revoked');
  });
});
