// Signing in by e-mail: the same 202 for every address, links only on PUBLIC_URL, single use, codes that die
// after five wrong tries, sign-up only when MAGIC_LINK_SIGNUP, the address verified by use, and the second
// factor still asked for.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { outboxDir } from '../../src/mail/transport.ts';
import { codeAt } from '../../src/methods/totp/totp.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { call, cookiesOf, expectError, registerUser, uniqueEmail } from '../helpers/http.ts';
import { linkIn, readOutbox } from '../helpers/mail.ts';

const T0 = Date.UTC(2026, 10, 30, 11, 0, 0);
let server: TestServer;
before(async () => {
  server = await startTestServer({ fakeClock: T0, env: { OAUTH_REDIRECT_ALLOWLIST: 'https://app.example/after' } });
});
after(() => server.close());

async function mailTo(app: TestServer, email: string) {
  await app.runtime.ctx.background.drain();
  const mails = (await readOutbox(outboxDir(app.config))).filter((m) => m.to === email && m.subject.startsWith('Sign in'));
  return mails[mails.length - 1];
}

async function ask(email: string, app = server, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const res = await call(app.app, 'POST', '/auth/magic-link', { body: { email, ...extra }, headers });
  assert.equal(res.statusCode, 202, res.body);
  const mail = await mailTo(app, email);
  if (!mail) return null;
  return { token: linkIn(mail, '/magic-link').searchParams.get('token')!, link: linkIn(mail, '/magic-link'), code: /code[^0-9]*(\d{6})/.exec(mail.text)![1]!, body: res.body };
}

describe('magic links and e-mail codes', () => {
  it('answers the same for every address, mails only a known one, and builds the link on PUBLIC_URL whatever the Host says', async () => {
    const { email } = await registerUser(server.app);
    const ghost = uniqueEmail('ghost');
    const forged = { host: 'evil.example', 'x-forwarded-host': 'evil.example' };
    const known = await call(server.app, 'POST', '/auth/magic-link', { body: { email }, headers: forged });
    const unknown = await call(server.app, 'POST', '/auth/magic-link', { body: { email: ghost }, headers: forged });
    assert.equal(known.statusCode, 202);
    assert.equal(known.body, unknown.body);
    const mail = await mailTo(server, email);
    assert.ok(mail, 'the known address got a mail');
    assert.equal(await mailTo(server, ghost), undefined, 'the unknown one did not (MAGIC_LINK_SIGNUP is off)');
    const link = linkIn(mail!, '/magic-link');
    assert.equal(link.origin, 'http://127.0.0.1:3000');
    assert.ok(!mail!.text.includes('evil.example') && !mail!.html.includes('evil.example'));
  });

  it('a link signs in once, with amr email, and verifies the address', async () => {
    const { email, body } = await registerUser(server.app);
    assert.equal(body.user.emailVerified, false);
    const sent = (await ask(email))!;
    const res = await call(server.app, 'POST', '/auth/magic-link/verify', { body: { token: sent.token } });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(decodeJwt(res.json().accessToken).amr, ['email']);
    assert.equal(res.json().user.emailVerified, true);
    expectError(await call(server.app, 'POST', '/auth/magic-link/verify', { body: { token: sent.token } }), 400, 'invalid_or_expired_token');
    // The code mailed with it died with it.
    expectError(await call(server.app, 'POST', '/auth/magic-link/verify', { body: { email, code: sent.code } }), 400, 'invalid_or_expired_token');
  });

  it('a code signs in once; five wrong tries kill it and its link', async () => {
    const { email } = await registerUser(server.app);
    const sent = (await ask(email))!;
    const session = await call(server.app, 'POST', '/auth/magic-link/verify', { body: { email: email.toUpperCase(), code: sent.code, mode: 'session' } });
    assert.equal(session.statusCode, 200, session.body);
    assert.ok(String(session.headers['set-cookie']).includes('gh_session='));
    expectError(await call(server.app, 'POST', '/auth/magic-link/verify', { body: { email, code: sent.code } }), 400, 'invalid_or_expired_token');

    server.clock!.advance(60_000);
    const again = (await ask(email))!;
    const wrong = again.code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) expectError(await call(server.app, 'POST', '/auth/magic-link/verify', { body: { email, code: wrong } }), 400, 'invalid_or_expired_token');
    expectError(await call(server.app, 'POST', '/auth/magic-link/verify', { body: { email, code: again.code } }), 400, 'invalid_or_expired_token');
    expectError(await call(server.app, 'POST', '/auth/magic-link/verify', { body: { token: again.token } }), 400, 'invalid_or_expired_token');
  });

  it('expires after MAGIC_LINK_TTL, and refuses what is not its own', async () => {
    const { email } = await registerUser(server.app);
    const sent = (await ask(email))!;
    server.clock!.advance(15 * 60_000 + 1000);
    expectError(await call(server.app, 'POST', '/auth/magic-link/verify', { body: { token: sent.token } }), 400, 'invalid_or_expired_token');
    for (const body of [{ token: 'ghl_nope' }, { token: sent.token, email, code: '123456' }, { email }, {}, { email, code: 'abcdef' }]) {
      const res = await call(server.app, 'POST', '/auth/magic-link/verify', { body });
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
    }
    expectError(await call(server.app, 'POST', '/auth/magic-link', { body: { email, redirect_to: 'https://evil.example/' } }), 400, 'validation_failed');
    expectError(await call(server.app, 'POST', '/auth/magic-link', { body: { email, redirect_to: '/admin' } }), 400, 'validation_failed');
    // Our own pages a link may land on: the account, and the passkey sign-up's "create your passkey".
    for (const redirect_to of ['/account', '/register/passkey/new']) assert.equal((await call(server.app, 'POST', '/auth/magic-link', { body: { email, redirect_to } })).statusCode, 202, redirect_to);
    expectError(await call(server.app, 'POST', '/auth/magic-link', { body: { email: 'not an address' } }), 400, 'validation_failed');
  });

  it('the link page asks for a click: opening it (a mail scanner) uses nothing up; the click signs the browser in', async () => {
    const { email } = await registerUser(server.app);
    const sent = (await ask(email))!;
    const opened = await call(server.app, 'GET', `${sent.link.pathname}${sent.link.search}`);
    assert.equal(opened.statusCode, 200);
    assert.equal(opened.headers['referrer-policy'], 'no-referrer');
    assert.equal(opened.headers['set-cookie']?.toString().includes('gh_session='), false);
    const again = await call(server.app, 'GET', `${sent.link.pathname}${sent.link.search}`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(again.body)![1]!;
    const cookie = Object.entries(cookiesOf(again)).map(([k, v]) => `${k}=${v.value}`).join('; ');
    const clicked = await server.app.inject({
      method: 'POST',
      url: '/magic-link',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      payload: new URLSearchParams({ token: sent.token, _csrf: csrf }).toString(),
    });
    assert.equal(clicked.statusCode, 303, clicked.body);
    assert.equal(clicked.headers.location, '/account');
    assert.ok(cookiesOf(clicked).gh_session?.value, 'signed in');
  });

  it('an account with a second factor gets the challenge, not a session', async () => {
    const { email, body } = await registerUser(server.app);
    const started = (await call(server.app, 'POST', '/auth/mfa/totp', { token: body.accessToken, body: {} })).json();
    await call(server.app, 'POST', `/auth/mfa/totp/${started.id}/confirm`, { token: body.accessToken, body: { code: codeAt(started.secret, server.clock!.now) } });
    server.clock!.advance(30_000);
    const sent = (await ask(email))!;
    const res = await call(server.app, 'POST', '/auth/magic-link/verify', { body: { token: sent.token } });
    assert.equal(res.json().mfaRequired, true);
    assert.equal(res.headers['set-cookie'], undefined);
    const done = await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: res.json().mfaTicket, code: codeAt(started.secret, server.clock!.now) } });
    assert.deepEqual(decodeJwt(done.json().accessToken).amr, ['email', 'otp', 'mfa']);
  });

  it('makes an account for an unknown address only with MAGIC_LINK_SIGNUP=true, verified from the start', async () => {
    const open = await startTestServer({ fakeClock: T0, env: { MAGIC_LINK_SIGNUP: 'true' } });
    try {
      const email = uniqueEmail('newcomer');
      const sent = (await ask(email, open))!;
      assert.ok(sent, 'an unknown address gets a link when sign-up is on');
      const res = await call(open.app, 'POST', '/auth/magic-link/verify', { body: { token: sent.token } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().user.email, email);
      assert.equal(res.json().user.emailVerified, true);
      assert.equal((await open.runtime.ctx.users.findByEmail(email))!.passwordHash, null);
    } finally {
      await open.close();
    }
  });
});
