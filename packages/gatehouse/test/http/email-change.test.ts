// Changing the address: a link to the new one, a notice with "this wasn't me" to the old one, the change only on
// confirmation, and the revert link that puts the old address back and ends every session.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/random.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, cookiesOf, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { linkIn, startSmtpSink, type SmtpSink } from '../helpers/mail.ts';

let smtp: SmtpSink;
let server: TestServer;

before(async () => {
  smtp = await startSmtpSink();
  server = await startTestServer({ env: { SMTP_URL: smtp.url }, fakeClock: Date.UTC(2026, 4, 1) });
});
after(async () => {
  await server.close();
  await smtp.close();
});

const settle = () => server.runtime.ctx.background.drain();

async function lastMail(to: string, subject: string) {
  await settle();
  const mail = smtp.to(to).filter((m) => m.subject.startsWith(subject)).at(-1);
  assert.ok(mail, `a mail "${subject}" to ${to}`);
  return mail;
}

/** Asks for a change; the confirmation token (mailed to the new address) and the revert token (to the old one). */
async function requestChange(accessToken: string, from: string, to: string) {
  const res = await call(server.app, 'POST', '/auth/email', { token: accessToken, body: { email: to.toUpperCase() } });
  assert.equal(res.statusCode, 202, res.body);
  const confirm = linkIn(await lastMail(to, 'Confirm your new email address'), '/email-change').searchParams.get('token')!;
  const notice = await lastMail(from, 'A change of your email address was asked for');
  assert.match(notice.text, new RegExp(to.replace(/[.]/g, '\\.')));
  const revert = linkIn(notice, '/email-change/revert').searchParams.get('token')!;
  return { confirm, revert };
}

describe('POST /auth/email', () => {
  it('changes the address only when the link mailed to the new one is used, and marks it verified', async () => {
    const { email, body } = await registerUser(server.app);
    const next = uniqueEmail('moved');
    const { confirm } = await requestChange(body.accessToken, email, next);
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: body.accessToken })).json().user.email, email, 'nothing changes before the link');

    // The address rides with the token's hash server-side; the link holds only the token.
    assert.ok(!confirm.includes('@') && !confirm.includes('moved'));
    const row = await server.runtime.database.db.selectFrom('one_time_tokens').selectAll().where('hash', '=', sha256(confirm)).executeTakeFirstOrThrow();
    assert.equal(row.email, next);
    assert.equal(row.purpose, 'email_change');

    const confirmed = await call(server.app, 'POST', '/auth/email/confirm', { body: { token: confirm } });
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    assert.equal(confirmed.json().user.email, next);
    assert.equal(confirmed.json().user.emailVerified, true);
    expectError(await call(server.app, 'POST', '/auth/email/confirm', { body: { token: confirm } }), 400, 'invalid_or_expired_token');
    await login(server.app, next);
    expectError(await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD } }), 401, 'invalid_credentials');
    const types = (await server.runtime.ctx.audit.list({ userId: body.user.id, limit: 50 })).map((e) => e.type);
    assert.ok(types.includes('email_change_requested') && types.includes('email_changed'), types.join());
  });

  it('answers 409 email_taken for another account\'s address, 400 for its own or a malformed one', async () => {
    const { body } = await registerUser(server.app);
    const other = await registerUser(server.app);
    expectError(await call(server.app, 'POST', '/auth/email', { token: body.accessToken, body: { email: other.email } }), 409, 'email_taken');
    expectError(await call(server.app, 'POST', '/auth/email', { token: body.accessToken, body: { email: body.user.email } }), 400, 'validation_failed');
    expectError(await call(server.app, 'POST', '/auth/email', { token: body.accessToken, body: { email: 'not-an-address' } }), 400, 'validation_failed');
  });

  it('refuses 409 at confirmation when another account took the address meanwhile, and the link stays unused', async () => {
    const { email, body } = await registerUser(server.app);
    const next = uniqueEmail('race');
    const { confirm } = await requestChange(body.accessToken, email, next);
    const squatter = await registerUser(server.app, { email: next });
    expectError(await call(server.app, 'POST', '/auth/email/confirm', { body: { token: confirm } }), 409, 'email_taken');
    assert.equal((await server.runtime.ctx.users.findById(body.user.id))!.email, email);
    // Once the other account is gone, the same link works.
    await server.runtime.ctx.users.delete(squatter.body.user.id);
    assert.equal((await call(server.app, 'POST', '/auth/email/confirm', { body: { token: confirm } })).statusCode, 200);
  });

  it('needs a recent sign-in', async () => {
    const { body } = await registerUser(server.app);
    server.clock!.advance(server.config.reauthMaxAgeMs + 1000);
    expectError(await call(server.app, 'POST', '/auth/email', { token: body.accessToken, body: { email: uniqueEmail() } }), 403, 'reauthentication_required');
  });

  it('a newer request retires the older confirmation link', async () => {
    const { email, body } = await registerUser(server.app);
    const first = await requestChange(body.accessToken, email, uniqueEmail('first'));
    const second = await requestChange(body.accessToken, email, uniqueEmail('second'));
    expectError(await call(server.app, 'POST', '/auth/email/confirm', { body: { token: first.confirm } }), 400, 'invalid_or_expired_token');
    assert.equal((await call(server.app, 'POST', '/auth/email/confirm', { body: { token: second.confirm } })).statusCode, 200);
  });

  it('does not change the e-mail a linked social identity reported', async () => {
    const { email, body } = await registerUser(server.app);
    await server.runtime.ctx.identities.link({ provider: 'github', subject: `gh-${body.user.id}`, userId: body.user.id, email, emailVerified: true, createdAt: server.clock!.now });
    const { confirm } = await requestChange(body.accessToken, email, uniqueEmail('social'));
    assert.equal((await call(server.app, 'POST', '/auth/email/confirm', { body: { token: confirm } })).statusCode, 200);
    const [identity] = await server.runtime.ctx.identities.listByUser(body.user.id);
    assert.equal(identity!.email, email);
  });
});

describe('POST /auth/email/revert ("this wasn\'t me")', () => {
  it('puts the old address back after the change, ends every session and mails a reset link to the old address', async () => {
    const { email, body } = await registerUser(server.app);
    const other = await login(server.app, email);
    const attacker = uniqueEmail('attacker');
    const { confirm, revert } = await requestChange(body.accessToken, email, attacker);
    assert.equal((await call(server.app, 'POST', '/auth/email/confirm', { body: { token: confirm } })).statusCode, 200);
    // A later request from the attacker's side must not kill the owner's link.
    await requestChange(body.accessToken, attacker, uniqueEmail('further'));

    const res = await call(server.app, 'POST', '/auth/email/revert', { body: { token: revert } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().reverted, true);
    assert.ok(res.json().sessionsEnded >= 2);
    const user = (await server.runtime.ctx.users.findById(body.user.id))!;
    assert.equal(user.email, email);
    for (const token of [body.accessToken, other.body.accessToken]) expectError(await call(server.app, 'GET', '/auth/me', { token }), 401, 'token_revoked');
    linkIn(await lastMail(email, 'Reset your'), '/reset-password');
    expectError(await call(server.app, 'POST', '/auth/email/revert', { body: { token: revert } }), 400, 'invalid_or_expired_token');
    const reverted = (await server.runtime.ctx.audit.list({ userId: body.user.id, type: 'email_change_reverted', limit: 5 }))[0];
    assert.equal(reverted?.detail?.reverted, true);
  });

  it('before the change, cancels it: the confirmation link stops working', async () => {
    const { email, body } = await registerUser(server.app);
    const { confirm, revert } = await requestChange(body.accessToken, email, uniqueEmail('pending'));
    const res = await call(server.app, 'POST', '/auth/email/revert', { body: { token: revert } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().reverted, false);
    expectError(await call(server.app, 'POST', '/auth/email/confirm', { body: { token: confirm } }), 400, 'invalid_or_expired_token');
    assert.equal((await server.runtime.ctx.users.findById(body.user.id))!.email, email);
  });

  it('refuses a forged or wrong-purpose token', async () => {
    expectError(await call(server.app, 'POST', '/auth/email/revert', { body: { token: 'ghx_forged' } }), 400, 'invalid_or_expired_token');
    const { email, body } = await registerUser(server.app);
    const { confirm } = await requestChange(body.accessToken, email, uniqueEmail('purpose'));
    expectError(await call(server.app, 'POST', '/auth/email/revert', { body: { token: confirm } }), 400, 'invalid_or_expired_token');
  });
});

describe('the pages the links open', () => {
  /** Opens a link's page (which must change nothing), then presses its button as a browser would. */
  async function press(path: string, token: string) {
    const page = await call(server.app, 'GET', `${path}?token=${encodeURIComponent(token)}`);
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const cookie = `gh_csrf=${cookiesOf(page).gh_csrf!.value}`;
    return server.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, payload: new URLSearchParams({ token, _csrf: csrf }).toString() });
  }

  it('the confirmation page changes the address on its button only; the revert page undoes it', async () => {
    const { email, body } = await registerUser(server.app);
    const next = uniqueEmail('paged');
    const { confirm, revert } = await requestChange(body.accessToken, email, next);
    const done = await press('/email-change', confirm);
    assert.equal(done.statusCode, 303, done.body);
    assert.equal((await server.runtime.ctx.users.findById(body.user.id))!.email, next);
    const used = await press('/email-change', confirm);
    assert.equal(used.statusCode, 400, 'the link works once');

    const undone = await press('/email-change/revert', revert);
    assert.equal(undone.statusCode, 303, undone.body);
    assert.equal(undone.headers.location, '/login');
    assert.equal((await server.runtime.ctx.users.findById(body.user.id))!.email, email);
    expectError(await call(server.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'token_revoked');
  });
});
