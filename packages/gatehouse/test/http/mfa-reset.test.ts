// Losing every factor: POST /auth/mfa/reset mails a link, its confirmation starts a removal MFA_RESET_DELAY
// away, a sign-in with a factor in between cancels it, and maintenance finishes it once due.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { translator } from '../../src/i18n/index.ts';
import { runMaintenance } from '../../src/maintenance.ts';
import { codeAt } from '../../src/methods/totp/totp.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, cookiesOf, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { linkIn, startSmtpSink, type SmtpSink } from '../helpers/mail.ts';

const HOUR = 3_600_000;
let smtp: SmtpSink;
let server: TestServer;


const settle = () => server.runtime.ctx.background.drain();
const clock = () => server.clock!;

/** A new account with a confirmed authenticator app: its address, id and TOTP secret. */
async function enrolledUser(): Promise<{ email: string; id: string; secret: string }> {
  const { email, body } = await registerUser(server.app);
  const started = await call(server.app, 'POST', '/auth/mfa/totp', { token: body.accessToken, body: {} });
  assert.equal(started.statusCode, 201, started.body);
  const { id, secret } = started.json();
  const confirmed = await call(server.app, 'POST', `/auth/mfa/totp/${id}/confirm`, { token: body.accessToken, body: { code: codeAt(secret, clock().now) } });
  assert.equal(confirmed.statusCode, 200, confirmed.body);
  return { email, id: body.user.id, secret };
}

async function mailsTo(email: string, subject: string) {
  await settle();
  return smtp.to(email).filter((m) => m.subject.startsWith(subject));
}

/** Asks for the reset and follows the e-mailed link's click: the confirmation's answer. */
async function startReset(email: string) {
  const asked = await call(server.app, 'POST', '/auth/mfa/reset', { body: { email } });
  assert.equal(asked.statusCode, 202, asked.body);
  const [mail] = (await mailsTo(email, 'Remove your second factors?')).slice(-1);
  assert.ok(mail, 'the reset link reached the owner');
  const token = linkIn(mail, '/mfa-reset').searchParams.get('token')!;
  const confirmed = await call(server.app, 'POST', '/auth/mfa/reset/confirm', { body: { token } });
  assert.equal(confirmed.statusCode, 202, confirmed.body);
  return { token, removesAt: Date.parse(confirmed.json().removesAt) };
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

const maintain = () =>
  runMaintenance({ db: server.runtime.database.db, dialect: server.runtime.database.dialect, config: server.config, now: clock().now, ctx: server.runtime.ctx });

async function passwordLogin(email: string) {
  const res = await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

async function auditTypes(userId: string): Promise<string[]> {
  return (await server.runtime.ctx.audit.list({ userId, limit: 200 })).map((e) => e.type);
}

for (const backend of [{ name: 'SQLite, memory state' }, { name: 'PostgreSQL, Redis', postgres: true, redis: true }]) describe(`POST /auth/mfa/reset (${backend.name})`, () => {
  before(async () => {
    smtp = await startSmtpSink();
    server = await startTestServer({ env: { SMTP_URL: smtp.url }, fakeClock: Date.UTC(2026, 2, 1), postgres: backend.postgres, redis: backend.redis });
  });
  after(async () => {
    await server.close();
    await smtp.close();
  });

  it('answers the same 202 for an enrolled, an unenrolled and an unknown address, and mails only the enrolled one', async () => {
    const enrolled = await enrolledUser();
    const plain = await registerUser(server.app);
    const nobody = uniqueEmail('nobody');
    const answers = [];
    for (const email of [enrolled.email, plain.email, nobody]) {
      const res = await call(server.app, 'POST', '/auth/mfa/reset', { body: { email } });
      answers.push({ status: res.statusCode, body: res.body });
    }
    assert.equal(answers[0]!.status, 202);
    assert.deepEqual(answers[1], answers[0]);
    assert.deepEqual(answers[2], answers[0]);
    assert.equal((await mailsTo(enrolled.email, 'Remove your second factors?')).length, 1);
    assert.equal((await mailsTo(plain.email, 'Remove')).length, 0);
    assert.equal(smtp.to(nobody).length, 0);
    expectError(await call(server.app, 'POST', '/auth/mfa/reset', { body: {} }), 400, 'validation_failed');
  });

  it('keeps the factors until the delay has passed, then password alone signs in', async () => {
    const user = await enrolledUser();
    const { token, removesAt } = await startReset(user.email);
    assert.equal(removesAt, clock().now + server.config.mfaResetDelayMs);
    assert.equal(server.config.mfaResetDelayMs, 72 * HOUR, 'MFA_RESET_DELAY defaults to 72h');
    expectError(await call(server.app, 'POST', '/auth/mfa/reset/confirm', { body: { token } }), 400, 'invalid_or_expired_token');
    const [started] = await mailsTo(user.email, 'Your second factors will be removed');
    assert.ok(started, 'the owner is told at once');
    assert.ok(started.text.includes(translator('en').dateTime(removesAt)), started.text);

    clock().advance(71 * HOUR);
    await maintain();
    assert.equal((await passwordLogin(user.email)).mfaRequired, true, 'the factor still guards the account');
    assert.equal(await server.runtime.ctx.factors.countConfirmed(user.id), 1);

    clock().advance(HOUR);
    const result = await maintain();
    assert.equal(result.deleted.mfa_resets, 1);
    assert.equal(await server.runtime.ctx.factors.countConfirmed(user.id), 0);
    const signedIn = await passwordLogin(user.email);
    assert.equal(signedIn.mfaRequired, undefined);
    assert.equal(typeof signedIn.accessToken, 'string');
    const types = await auditTypes(user.id);
    assert.ok(types.includes('mfa_reset_started') && types.includes('mfa_reset_finished'), types.join());
    assert.equal((await mailsTo(user.email, 'A second factor was removed')).length, 1, 'the owner is told when they go');
    assert.equal((await maintain()).deleted.mfa_resets, 0, 'a finished reset is not finished again');
  });

  it('a sign-in with the factor in between cancels it, and the owner is told', async () => {
    const user = await enrolledUser();
    await startReset(user.email);
    clock().advance(HOUR);
    const challenge = await passwordLogin(user.email);
    assert.equal(challenge.mfaRequired, true);
    const verified = await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: challenge.mfaTicket, code: codeAt(user.secret, clock().now) } });
    assert.equal(verified.statusCode, 200, verified.body);
    assert.ok((await auditTypes(user.id)).includes('mfa_reset_cancelled'));
    assert.equal((await mailsTo(user.email, 'The removal of your second factors was cancelled')).length, 1);

    clock().advance(72 * HOUR);
    assert.equal((await maintain()).deleted.mfa_resets, 0);
    assert.equal(await server.runtime.ctx.factors.countConfirmed(user.id), 1);
    assert.equal((await passwordLogin(user.email)).mfaRequired, true);
  });

  it('a step-up with the factor cancels it too; a wrong code does not', async () => {
    const user = await enrolledUser();
    const session = await login(server.app, user.email);
    assert.equal(session.body.mfaRequired, true);
    clock().advance(60_000); // the enrolment used the current step: the next one signs in
    const signedIn = await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: session.body.mfaTicket, code: codeAt(user.secret, clock().now) } });
    assert.equal(signedIn.statusCode, 200, signedIn.body);
    const accessToken = signedIn.json().accessToken;
    clock().advance(60_000);
    await startReset(user.email);
    clock().advance(60_000);
    expectError(await call(server.app, 'POST', '/auth/reauthenticate', { token: accessToken, body: { code: '000000' === codeAt(user.secret, clock().now) ? '111111' : '000000' } }), 401, 'invalid_mfa_code');
    assert.ok(await server.runtime.ctx.factors.findReset(user.id), 'still pending after a wrong code');
    const stepUp = await call(server.app, 'POST', '/auth/reauthenticate', { token: accessToken, body: { code: codeAt(user.secret, clock().now) } });
    assert.equal(stepUp.statusCode, 204, stepUp.body);
    assert.equal(await server.runtime.ctx.factors.findReset(user.id), null);
  });

  it('the link opens a page that only asks; its form starts the removal', async () => {
    const user = await enrolledUser();
    await call(server.app, 'POST', '/auth/mfa/reset', { body: { email: user.email } });
    const [mail] = (await mailsTo(user.email, 'Remove your second factors?')).slice(-1);
    const link = linkIn(mail!, '/mfa-reset');
    const page = await call(server.app, 'GET', `${link.pathname}${link.search}`);
    assert.equal(page.statusCode, 200);
    assert.equal(await server.runtime.ctx.factors.findReset(user.id), null, 'opening the link starts nothing');
    const posted = await postPageForm(`${link.pathname}${link.search}`, { token: link.searchParams.get('token')! });
    assert.equal(posted.statusCode, 303, posted.body);
    assert.equal((await server.runtime.ctx.factors.findReset(user.id))?.dueAt, clock().now + server.config.mfaResetDelayMs);
    const again = await postPageForm(`${link.pathname}${link.search}`, { token: link.searchParams.get('token')! });
    assert.equal(again.statusCode, 400);
    await server.runtime.ctx.factors.cancelReset(user.id);
  });

  it('confirming again while one is pending keeps the first date', async () => {
    const user = await enrolledUser();
    const first = await startReset(user.email);
    clock().advance(HOUR);
    const second = await startReset(user.email);
    assert.equal(second.removesAt, first.removesAt);
    await server.runtime.ctx.factors.cancelReset(user.id);
  });
});
