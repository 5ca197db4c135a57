// E-mail verification and password recovery, delivered through a real SMTP server and the outbox.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { outboxDir } from '../../src/mail/transport.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, cookiesOf, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { linkIn, readOutbox, startSmtpSink, type SmtpSink } from '../helpers/mail.ts';

let smtp: SmtpSink;
let server: TestServer;
const start = Date.UTC(2026, 0, 1);

before(async () => {
  smtp = await startSmtpSink();
  server = await startTestServer({ env: { SMTP_URL: smtp.url, REQUIRE_EMAIL_VERIFICATION: 'true', BRAND_NAME: 'Acme <Login>' }, fakeClock: start });
});
after(async () => {
  await server.close();
  await smtp.close();
});

const settle = () => server.runtime.ctx.background.drain();

/** Posts a page's form as a browser would: the page first (for the CSRF cookie and field), then the form. */
async function postPageForm(pagePath: string, fields: Record<string, string>) {
  const page = await call(server.app, 'GET', pagePath);
  const csrfCookie = cookiesOf(page).gh_csrf!.value;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return server.app.inject({
    method: 'POST',
    url: pagePath.split('?')[0]!,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `gh_csrf=${csrfCookie}` },
    payload: new URLSearchParams({ ...fields, _csrf: csrf }).toString(),
  });
}

async function verificationLink(email: string): Promise<URL> {
  await settle();
  const mails = smtp.to(email).filter((m) => m.subject.startsWith('Confirm'));
  assert.ok(mails.length > 0, `a verification e-mail reached ${email}`);
  return linkIn(mails[mails.length - 1]!, '/verify-email');
}

async function resetLink(email: string): Promise<URL> {
  await settle();
  const mails = smtp.to(email).filter((m) => m.subject.startsWith('Reset'));
  assert.ok(mails.length > 0, `a reset e-mail reached ${email}`);
  return linkIn(mails[mails.length - 1]!, '/reset-password');
}

describe('e-mail verification', () => {
  it('under REQUIRE_EMAIL_VERIFICATION, sign-up in every mode answers 201 { user } and starts no session', async () => {
    for (const mode of ['token', 'cookie', 'session']) {
      const { res, body } = await registerUser(server.app, { mode });
      assert.deepEqual(Object.keys(body), ['user'], `mode ${mode}: no token in the body`);
      assert.equal(res.headers['set-cookie'], undefined, `mode ${mode}: no cookie`);
      const sessions = await server.runtime.database.db.selectFrom('sessions').select('id').where('user_id', '=', body.user.id).execute();
      assert.equal(sessions.length, 0, `mode ${mode}: no session row`);
    }
  });

  it('an account that stops being verified loses its refresh tokens, sessions and API keys at once', async () => {
    const { email } = await registerUser(server.app);
    await call(server.app, 'POST', '/auth/verify-email', { body: { token: (await verificationLink(email)).searchParams.get('token') } });
    const token = await login(server.app, email);
    const cookie = await login(server.app, email, PASSWORD, 'session');
    const key = (await call(server.app, 'POST', '/auth/api-keys', { token: token.body.accessToken, body: { name: 'k' } })).json().key;
    await server.runtime.ctx.users.update(token.body.user.id, { emailVerifiedAt: null }, server.clock!.now);
    expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: token.body.refreshToken } }), 401, 'invalid_refresh_token');
    expectError(await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: cookie.cookies.gh_session!.value } }), 401, 'token_revoked');
    expectError(await call(server.app, 'GET', '/auth/me', { token: key }), 401, 'invalid_token');
  });

  it('sends a text+HTML e-mail on sign-up whose link verifies the address once', async () => {
    const { email, body } = await registerUser(server.app);
    const link = await verificationLink(email);
    const mail = smtp.to(email)[0]!;
    assert.equal(mail.from, 'no-reply@localhost');
    assert.ok(mail.html.includes('Acme &lt;Login&gt;'), 'the brand is escaped in the HTML part');
    assert.equal(link.origin, 'http://127.0.0.1:3000');
    assert.equal(link.pathname, '/verify-email');

    expectError(await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD } }), 403, 'email_not_verified');
    // Opening the link shows a confirm button; it does not use the token (link scanners open links too).
    const pageRes = await call(server.app, 'GET', `${link.pathname}${link.search}`);
    assert.equal(pageRes.statusCode, 200);
    assert.match(pageRes.headers['content-type'] as string, /text\/html/);
    assert.equal(pageRes.headers['referrer-policy'], 'no-referrer');

    const token = link.searchParams.get('token')!;
    const verified = await call(server.app, 'POST', '/auth/verify-email', { body: { token } });
    assert.equal(verified.statusCode, 200, verified.body);
    assert.equal(verified.json().user.id, body.user.id);
    assert.equal(verified.json().user.emailVerified, true);
    expectError(await call(server.app, 'POST', '/auth/verify-email', { body: { token } }), 400, 'invalid_or_expired_token');
    await login(server.app, email);
  });

  it('verifies through the plain page form too', async () => {
    const { email } = await registerUser(server.app);
    const link = await verificationLink(email);
    const res = await postPageForm(`${link.pathname}${link.search}`, { token: link.searchParams.get('token')! });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/login');
    assert.equal((await server.runtime.ctx.users.findByEmail(email))!.emailVerifiedAt !== null, true);
    const again = await postPageForm(`${link.pathname}${link.search}`, { token: link.searchParams.get('token')! });
    assert.equal(again.statusCode, 400);
  });

  it('refuses tampered, foreign-purpose and expired tokens; a resend retires the older link', async () => {
    const { email, body } = await registerUser(server.app);
    const first = (await verificationLink(email)).searchParams.get('token')!;
    expectError(await call(server.app, 'POST', '/auth/verify-email', { body: { token: first.slice(0, -2) + 'xx' } }), 400, 'invalid_or_expired_token');
    expectError(await call(server.app, 'POST', '/auth/verify-email', { body: { token: '' } }), 400, 'invalid_or_expired_token');
    expectError(await call(server.app, 'POST', '/auth/verify-email', { body: {} }), 400, 'validation_failed');

    // Unverified, the owner cannot sign in: the resend is asked by address, answered alike for any address.
    expectError(await call(server.app, 'POST', '/auth/verify-email/resend', {}), 401, 'authentication_required');
    const resend = await call(server.app, 'POST', '/auth/verify-email/resend', { body: { email } });
    assert.equal(resend.statusCode, 202);
    const ghost = await call(server.app, 'POST', '/auth/verify-email/resend', { body: { email: uniqueEmail('ghost') } });
    assert.equal(ghost.body, resend.body);
    const second = (await verificationLink(email)).searchParams.get('token')!;
    assert.notEqual(second, first);
    expectError(await call(server.app, 'POST', '/auth/verify-email', { body: { token: first } }), 400, 'invalid_or_expired_token');

    server.clock!.advance(24 * 3_600_000 + 1000);
    expectError(await call(server.app, 'POST', '/auth/verify-email', { body: { token: second } }), 400, 'invalid_or_expired_token');
    assert.equal((await server.runtime.ctx.users.findById(body.user.id))!.emailVerifiedAt, null);
  });

  it('a token verifies only the account it was sent to', async () => {
    const a = await registerUser(server.app);
    const b = await registerUser(server.app);
    const tokenA = (await verificationLink(a.email)).searchParams.get('token')!;
    const res = await call(server.app, 'POST', '/auth/verify-email', { body: { token: tokenA } });
    assert.equal(res.json().user.id, a.body.user.id);
    assert.equal((await server.runtime.ctx.users.findById(b.body.user.id))!.emailVerifiedAt, null);
  });
});

describe('password recovery', () => {
  it('answers the same 202 for known and unknown addresses, and mails only the known one', async () => {
    const { email } = await registerUser(server.app);
    const known = await call(server.app, 'POST', '/auth/forgot-password', { body: { email } });
    const unknown = await call(server.app, 'POST', '/auth/forgot-password', { body: { email: uniqueEmail('ghost') } });
    assert.equal(known.statusCode, 202);
    assert.equal(unknown.statusCode, 202);
    assert.equal(known.body, unknown.body);
    await resetLink(email);
    expectError(await call(server.app, 'POST', '/auth/forgot-password', { body: {} }), 400, 'validation_failed');
  });

  it('resets the password once, ends every session and sends a notice', async () => {
    const { email } = await registerUser(server.app);
    await call(server.app, 'POST', '/auth/verify-email', { body: { token: (await verificationLink(email)).searchParams.get('token') } });
    const { body } = await login(server.app, email);
    const session = await login(server.app, email, PASSWORD, 'session');
    await call(server.app, 'POST', '/auth/forgot-password', { body: { email } });
    const token = (await resetLink(email)).searchParams.get('token')!;

    // A weak password is refused and leaves the link usable.
    expectError(await call(server.app, 'POST', '/auth/reset-password', { body: { token, password: 'short' } }), 400, 'validation_failed');
    const ok = await call(server.app, 'POST', '/auth/reset-password', { body: { token, password: 'a fresh strong passphrase' } });
    assert.equal(ok.statusCode, 204, ok.body);
    expectError(await call(server.app, 'POST', '/auth/reset-password', { body: { token, password: 'another strong passphrase' } }), 400, 'invalid_or_expired_token');

    expectError(await call(server.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'token_revoked');
    expectError(await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: session.cookies.gh_session!.value } }), 401, 'token_revoked');
    expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } }), 401, 'invalid_refresh_token');
    expectError(await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD } }), 401, 'invalid_credentials');
    await login(server.app, email, 'a fresh strong passphrase');
    await settle();
    assert.ok(smtp.to(email).some((m) => /password was changed/.test(m.subject)), 'a change notice was sent');
  });

  it('a newer request invalidates the older link; links expire after RESET_TOKEN_TTL', async () => {
    const { email } = await registerUser(server.app);
    await call(server.app, 'POST', '/auth/forgot-password', { body: { email } });
    const older = (await resetLink(email)).searchParams.get('token')!;
    await call(server.app, 'POST', '/auth/forgot-password', { body: { email } });
    const newer = (await resetLink(email)).searchParams.get('token')!;
    expectError(await call(server.app, 'POST', '/auth/reset-password', { body: { token: older, password: 'a fresh strong passphrase' } }), 400, 'invalid_or_expired_token');
    server.clock!.advance(3_600_000 + 1000);
    expectError(await call(server.app, 'POST', '/auth/reset-password', { body: { token: newer, password: 'a fresh strong passphrase' } }), 400, 'invalid_or_expired_token');
    // The old password still holds (the account is unverified here, which only the right password learns).
    expectError(await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD } }), 403, 'email_not_verified');
  });

  it('a verification token cannot reset a password, nor the reverse', async () => {
    const { email } = await registerUser(server.app);
    const verifyToken = (await verificationLink(email)).searchParams.get('token')!;
    expectError(await call(server.app, 'POST', '/auth/reset-password', { body: { token: verifyToken, password: 'a fresh strong passphrase' } }), 400, 'invalid_or_expired_token');
    await call(server.app, 'POST', '/auth/forgot-password', { body: { email } });
    const resetToken = (await resetLink(email)).searchParams.get('token')!;
    expectError(await call(server.app, 'POST', '/auth/verify-email', { body: { token: resetToken } }), 400, 'invalid_or_expired_token');
  });

  it('the reset page works without JavaScript and shows policy errors beside the form', async () => {
    const { email } = await registerUser(server.app);
    await call(server.app, 'POST', '/auth/forgot-password', { body: { email } });
    const link = await resetLink(email);
    const form = await call(server.app, 'GET', `${link.pathname}${link.search}`);
    assert.match(form.body, /<form method="post" action="\/reset-password">/);
    const post = (password: string, again = password) => postPageForm(`${link.pathname}${link.search}`, { token: link.searchParams.get('token')!, password, password_again: again });
    const weak = await post('short');
    assert.equal(weak.statusCode, 400);
    assert.match(weak.body, /at least 8 characters/);
    const slip = await post('a fresh strong passphrase', 'a fresh strong passphrasf');
    assert.equal(slip.statusCode, 400);
    assert.match(slip.body, /The two passwords differ/);
    const ok = await post('a fresh strong passphrase');
    assert.equal(ok.statusCode, 303);
    await login(server.app, email, 'a fresh strong passphrase');
    // The used link says so when opened, before anything is typed.
    const used = await call(server.app, 'GET', `${link.pathname}${link.search}`);
    assert.equal(used.statusCode, 400);
    assert.match(used.body, /already used or has expired/);
    assert.doesNotMatch(used.body, /action="\/reset-password"/);
  });

  it('limits forgot-password and resend per IP', async () => {
    const limited = await startTestServer({ env: { RATE_LIMIT_SIGNUP_IP: '2/1h' } });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await call(limited.app, 'POST', '/auth/forgot-password', { body: { email: 'x@example.com' }, ip: '10.9.9.9' })).statusCode, 202);
      expectError(await call(limited.app, 'POST', '/auth/forgot-password', { body: { email: 'x@example.com' }, ip: '10.9.9.9' }), 429, 'rate_limited');
    } finally {
      await limited.close();
    }
  });

  it('sends at most RATE_LIMIT_MAIL_ACCOUNT e-mails to one address, however many IPs ask', async () => {
    const sink = await startSmtpSink();
    const limited = await startTestServer({ env: { SMTP_URL: sink.url, RATE_LIMIT_MAIL_ACCOUNT: '2/15m' } });
    try {
      const { email, body } = await registerUser(limited.app);
      assert.ok(body.accessToken, 'without REQUIRE_EMAIL_VERIFICATION sign-up signs in');
      await limited.runtime.ctx.background.drain();
      // Sign-up sent one verification e-mail; a resend is the second and the last one allowed.
      assert.equal((await call(limited.app, 'POST', '/auth/verify-email/resend', { token: body.accessToken })).statusCode, 202);
      const refused = await call(limited.app, 'POST', '/auth/verify-email/resend', { token: body.accessToken });
      expectError(refused, 429, 'rate_limited');
      assert.ok(Number(refused.headers['retry-after']) > 0);

      // forgot-password from rotating IPs: always the same 202, but the mailbox is not flooded.
      const answers = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const res = await call(limited.app, 'POST', '/auth/forgot-password', { body: { email }, ip: `198.51.100.${i}` });
        assert.equal(res.statusCode, 202);
        answers.add(res.body);
      }
      await limited.runtime.ctx.background.drain();
      assert.equal(answers.size, 1, 'the answer does not change once the limit is reached');
      assert.equal(sink.to(email).filter((m) => m.subject.startsWith('Confirm')).length, 2);
      // The verification e-mails already used this address's share of the window.
      assert.equal(sink.to(email).filter((m) => m.subject.startsWith('Reset')).length, 0);
    } finally {
      await limited.close();
      await sink.close();
    }
  });
});

describe('outbox and logs', () => {
  it('writes .eml files under DATA_DIR/outbox when there is no SMTP_URL, and never logs a token', async () => {
    const local = await startTestServer({ env: { LOG_LEVEL: 'trace' } });
    try {
      const { email } = await registerUser(local.app, { mode: 'cookie' });
      await call(local.app, 'POST', '/auth/forgot-password', { body: { email } });
      await local.runtime.ctx.background.drain();
      const mails = (await readOutbox(outboxDir(local.config))).filter((m) => m.to === email);
      assert.equal(mails.length, 2);
      const verifyToken = linkIn(mails.find((m) => m.subject.startsWith('Confirm'))!, '/verify-email').searchParams.get('token')!;
      const resetUrl = linkIn(mails.find((m) => m.subject.startsWith('Reset'))!, '/reset-password');
      const resetToken = resetUrl.searchParams.get('token')!;
      await call(local.app, 'GET', `${resetUrl.pathname}${resetUrl.search}`);
      await call(local.app, 'POST', '/auth/verify-email', { body: { token: verifyToken } });
      await call(local.app, 'POST', '/auth/reset-password', { body: { token: resetToken, password: 'a fresh strong passphrase' } });
      const logs = local.logs.join('');
      assert.ok(local.logs.filter((line) => line.includes('request completed')).length >= 5, 'the run was logged');
      for (const secret of [verifyToken, resetToken, encodeURIComponent(resetToken), 'a fresh strong passphrase']) {
        assert.ok(!logs.includes(secret), `a secret reached the logs: ${secret.slice(0, 8)}…`);
      }
    } finally {
      await local.close();
    }
  });
});
