// The admin API beyond the basics: invitations, a new verification link, signing a user out everywhere, their
// sessions (with a readable device), the disabled filter and the audit log's filters; every write audited with `by`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser } from '../../src/users/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { linkIn, startSmtpSink, type SmtpSink } from '../helpers/mail.ts';

const CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

let smtp: SmtpSink;
let server: TestServer;
let admin: { id: string; token: string };

before(async () => {
  smtp = await startSmtpSink();
  server = await startTestServer({ env: { SMTP_URL: smtp.url }, fakeClock: Date.UTC(2026, 4, 1) });
  const email = uniqueEmail('admin');
  await createUser(server.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true });
  const { body } = await login(server.app, email);
  admin = { id: body.user.id, token: body.accessToken };
});
after(async () => {
  await server.close();
  await smtp.close();
});

async function mailTo(address: string, subject: string) {
  await server.runtime.ctx.background.drain();
  const mail = smtp.to(address).filter((m) => m.subject.startsWith(subject)).at(-1);
  assert.ok(mail, `"${subject}" to ${address}`);
  return mail;
}

async function lastEvent(userId: string, type: string) {
  const [event] = await server.runtime.ctx.audit.list({ userId, type: type as never, limit: 1 });
  assert.ok(event, `a ${type} event`);
  return event;
}

async function signInAs(email: string, userAgent: string) {
  const res = await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD }, headers: { 'user-agent': userAgent } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

describe('POST /admin/users (invitation)', () => {
  it('creates an account without a password and mails a link to choose one, which also verifies the address', async () => {
    const email = uniqueEmail('invited');
    const res = await call(server.app, 'POST', '/admin/users', { token: admin.token, body: { email: ` ${email.toUpperCase()} `, name: 'Invited Person', role: 'user' } });
    assert.equal(res.statusCode, 201, res.body);
    const { user } = res.json();
    assert.equal(user.email, email);
    assert.equal(user.emailVerified, false);
    assert.equal((await server.runtime.ctx.users.findById(user.id))!.passwordHash, null);
    assert.equal((await lastEvent(user.id, 'user_invited')).detail?.by, admin.id);

    const link = linkIn(await mailTo(email, 'You are invited'), '/reset-password');
    const chosen = await call(server.app, 'POST', '/auth/reset-password', { body: { token: link.searchParams.get('token'), password: 'a brand new passphrase' } });
    assert.equal(chosen.statusCode, 204, chosen.body);
    const signedIn = await login(server.app, email, 'a brand new passphrase');
    assert.equal(signedIn.body.user.emailVerified, true);

    expectError(await call(server.app, 'POST', '/admin/users', { token: admin.token, body: { email } }), 409, 'email_taken');
    expectError(await call(server.app, 'POST', '/admin/users', { token: admin.token, body: { email: uniqueEmail(), role: 'emperor' } }), 400, 'validation_failed');
  });

  it('is for admins who signed in recently', async () => {
    const { body } = await registerUser(server.app);
    expectError(await call(server.app, 'POST', '/admin/users', { token: body.accessToken, body: { email: uniqueEmail() } }), 403, 'forbidden');
  });
});

describe('POST /admin/users/:id/verify-email', () => {
  it('mails a new verification link to an unverified address; 409 when verified, 404 when unknown', async () => {
    const { body } = await registerUser(server.app);
    const res = await call(server.app, 'POST', `/admin/users/${body.user.id}/verify-email`, { token: admin.token });
    assert.equal(res.statusCode, 202, res.body);
    const token = linkIn(await mailTo(body.user.email, 'Confirm your email address'), '/verify-email').searchParams.get('token');
    assert.equal((await call(server.app, 'POST', '/auth/verify-email', { body: { token } })).json().user.emailVerified, true);
    assert.equal((await lastEvent(body.user.id, 'verification_resent')).detail?.by, admin.id);
    expectError(await call(server.app, 'POST', `/admin/users/${body.user.id}/verify-email`, { token: admin.token }), 409, 'conflict');
    expectError(await call(server.app, 'POST', '/admin/users/00000000-0000-7000-8000-000000000000/verify-email', { token: admin.token }), 404, 'not_found');
  });
});

describe("a user's sessions", () => {
  it('lists them with a readable device, ends one, then signs the user out everywhere', async () => {
    const email = uniqueEmail('sessions');
    await createUser(server.runtime.ctx, { email, password: PASSWORD, emailVerified: true });
    const mac = await signInAs(email, CHROME_MAC);
    const linux = await signInAs(email, FIREFOX_LINUX);
    const third = await signInAs(email, 'curl/8.5.0');

    const own = await call(server.app, 'GET', '/auth/sessions', { token: mac.accessToken });
    const devices = own.json().sessions.map((s: { device: string }) => s.device).sort();
    assert.deepEqual(devices, ['Chrome on macOS', 'Firefox on Linux', 'curl']);
    assert.ok(own.json().sessions.every((s: { userAgent: string | null }) => s.userAgent), 'the raw user agent stays');

    const listed = await call(server.app, 'GET', `/admin/users/${mac.user.id}/sessions`, { token: admin.token });
    assert.equal(listed.statusCode, 200, listed.body);
    const linuxSession = listed.json().sessions.find((s: { device: string }) => s.device === 'Firefox on Linux');
    const ended = await call(server.app, 'DELETE', `/admin/users/${mac.user.id}/sessions/${linuxSession.id}`, { token: admin.token });
    assert.equal(ended.statusCode, 204, ended.body);
    expectError(await call(server.app, 'GET', '/auth/me', { token: linux.accessToken }), 401, 'token_revoked');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: mac.accessToken })).statusCode, 200);
    assert.equal((await lastEvent(mac.user.id, 'session_revoked')).detail?.by, admin.id);
    // Another user's session under this user's id is not found, as an unknown one is.
    const adminSession = (await server.runtime.ctx.sessions.listLive(admin.id, server.clock!.now))[0]!;
    expectError(await call(server.app, 'DELETE', `/admin/users/${mac.user.id}/sessions/${adminSession.id}`, { token: admin.token }), 404, 'not_found');
    expectError(await call(server.app, 'DELETE', `/admin/users/${mac.user.id}/sessions/${linuxSession.id}`, { token: admin.token }), 404, 'not_found');

    const out = await call(server.app, 'POST', `/admin/users/${mac.user.id}/sign-out`, { token: admin.token });
    assert.equal(out.statusCode, 200, out.body);
    assert.equal(out.json().sessionsEnded, 2);
    for (const token of [mac.accessToken, third.accessToken]) expectError(await call(server.app, 'GET', '/auth/me', { token }), 401, 'token_revoked');
    assert.deepEqual((await call(server.app, 'GET', `/admin/users/${mac.user.id}/sessions`, { token: admin.token })).json().sessions, []);
    assert.deepEqual((await lastEvent(mac.user.id, 'user_signed_out')).detail, { by: admin.id, sessions: 2 });
  });

  it('admin writes need a recent sign-in; reading does not', async () => {
    const { body } = await registerUser(server.app);
    const email = uniqueEmail('stale-admin');
    await createUser(server.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true });
    const stale = await login(server.app, email);
    server.clock!.advance(server.config.reauthMaxAgeMs + 1000);
    expectError(await call(server.app, 'POST', `/admin/users/${body.user.id}/sign-out`, { token: stale.body.accessToken }), 403, 'reauthentication_required');
    expectError(await call(server.app, 'POST', '/admin/users', { token: stale.body.accessToken, body: { email: uniqueEmail() } }), 403, 'reauthentication_required');
    assert.equal((await call(server.app, 'GET', `/admin/users/${body.user.id}/sessions`, { token: stale.body.accessToken })).statusCode, 200);
    // The suite's admin signs in again for what follows.
    admin.token = (await login(server.app, (await server.runtime.ctx.users.findById(admin.id))!.email)).body.accessToken;
  });
});

describe('filters', () => {
  it('GET /admin/users?disabled= lists only disabled or only enabled accounts', async () => {
    const tag = `filter${Date.now()}`;
    const on = await registerUser(server.app, { email: uniqueEmail(tag) });
    const off = await registerUser(server.app, { email: uniqueEmail(tag) });
    assert.equal((await call(server.app, 'PATCH', `/admin/users/${off.body.user.id}`, { token: admin.token, body: { disabled: true } })).statusCode, 200);
    const disabled = (await call(server.app, 'GET', `/admin/users?q=${tag}&disabled=true`, { token: admin.token })).json().users;
    assert.deepEqual(disabled.map((u: { id: string }) => u.id), [off.body.user.id]);
    const enabled = (await call(server.app, 'GET', `/admin/users?q=${tag}&disabled=false`, { token: admin.token })).json().users;
    assert.deepEqual(enabled.map((u: { id: string }) => u.id), [on.body.user.id]);
    expectError(await call(server.app, 'GET', '/admin/users?disabled=maybe', { token: admin.token }), 400, 'validation_failed');
  });

  it('GET /admin/audit filters by type, user and time', async () => {
    const { body } = await registerUser(server.app);
    const start = server.clock!.now;
    server.clock!.advance(60_000);
    await login(server.app, body.user.email);
    server.clock!.advance(60_000);
    const middle = new Date(server.clock!.now).toISOString();
    await login(server.app, body.user.email);
    const query = (q: string) => call(server.app, 'GET', `/admin/audit?userId=${body.user.id}&${q}`, { token: admin.token });
    const all = (await query('type=login_ok')).json().events;
    assert.equal(all.length, 2);
    assert.equal((await query(`type=login_ok&since=${middle}`)).json().events.length, 1);
    assert.equal((await query(`type=login_ok&until=${middle}`)).json().events.length, 1);
    const register = (await query(`until=${new Date(start + 1).toISOString()}`)).json().events;
    assert.deepEqual(register.map((e: { type: string }) => e.type), ['register']);
    expectError(await query('since=yesterday'), 400, 'validation_failed');
    expectError(await query(`since=${middle}&until=${new Date(start).toISOString()}`), 400, 'validation_failed');
  });
});
