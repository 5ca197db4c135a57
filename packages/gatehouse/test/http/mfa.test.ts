// Second factors through the API: enrolment behind step-up, the challenge on sign-in, the second step, replay,
// tickets, recovery codes, step-up itself and MFA_REQUIRED_ROLES. A fake clock drives every time step.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { outboxDir } from '../../src/mail/transport.ts';
import { codeAt } from '../../src/methods/totp/totp.ts';
import { readOutbox } from '../helpers/mail.ts';
import { createUser } from '../../src/users/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';

const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);
let server: TestServer;
before(async () => {
  server = await startTestServer({ fakeClock: T0, env: { RATE_LIMIT_LOGIN_ACCOUNT: '1000/15m' } });
});
after(() => server.close());

const now = () => server.clock!.now;
/** Moves to the next 30-second step, so a fresh code exists. */
const nextStep = () => server.clock!.advance(30_000);

interface Enrolled {
  email: string;
  token: string;
  secret: string;
  factorId: string;
  recoveryCodes: string[];
}

/** Registers a user and enrols a TOTP factor the way an app would. */
async function enrolled(app = server): Promise<Enrolled> {
  const { email, body } = await registerUser(app.app);
  const started = await call(app.app, 'POST', '/auth/mfa/totp', { token: body.accessToken, body: { name: 'Phone' } });
  assert.equal(started.statusCode, 201, started.body);
  const { id, secret, otpauthUrl } = started.json();
  assert.match(otpauthUrl, /^otpauth:\/\/totp\//);
  const confirmed = await call(app.app, 'POST', `/auth/mfa/totp/${id}/confirm`, { token: body.accessToken, body: { code: codeAt(secret, app.clock!.now) } });
  assert.equal(confirmed.statusCode, 200, confirmed.body);
  app.clock!.advance(30_000);
  return { email, token: body.accessToken, secret, factorId: id, recoveryCodes: confirmed.json().recoveryCodes };
}

async function challenge(email: string, mode?: string) {
  const res = await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD, ...(mode ? { mode } : {}) } });
  assert.equal(res.statusCode, 200, res.body);
  return res;
}

describe('enrolment', () => {
  it('is pending until a code proves the app has the secret; the first factor comes with ten recovery codes, stored hashed', async () => {
    const { body } = await registerUser(server.app);
    const token = body.accessToken;
    const started = (await call(server.app, 'POST', '/auth/mfa/totp', { token, body: {} })).json();
    assert.deepEqual((await call(server.app, 'GET', '/auth/mfa', { token })).json(), { factors: [], recoveryCodesLeft: 0 }, 'a pending factor does not count');
    const row = await server.runtime.database.db.selectFrom('mfa_factors').selectAll().where('id', '=', started.id).executeTakeFirstOrThrow();
    assert.ok(!row.secret!.includes(started.secret), 'the secret is sealed at rest');
    // Pending: a sign-in is not challenged yet.
    assert.ok((await login(server.app, body.user.email)).body.accessToken);

    expectError(await call(server.app, 'POST', `/auth/mfa/totp/${started.id}/confirm`, { token, body: { code: '000000' } }), 401, 'invalid_mfa_code');
    const confirmed = (await call(server.app, 'POST', `/auth/mfa/totp/${started.id}/confirm`, { token, body: { code: codeAt(started.secret, now()) } })).json();
    assert.equal(confirmed.factor.type, 'totp');
    assert.equal(confirmed.recoveryCodes.length, 10);
    assert.equal(new Set(confirmed.recoveryCodes).size, 10);
    const stored = await server.runtime.database.db.selectFrom('recovery_codes').select('hash').where('user_id', '=', body.user.id).execute();
    assert.equal(stored.length, 10);
    for (const code of confirmed.recoveryCodes) assert.ok(!JSON.stringify(stored).includes(code.replace('-', '')), 'codes are stored hashed');
    const listed = (await call(server.app, 'GET', '/auth/mfa', { token })).json();
    assert.equal(listed.factors.length, 1);
    assert.equal(listed.recoveryCodesLeft, 10);

    // A second factor brings no new codes.
    nextStep();
    const second = (await call(server.app, 'POST', '/auth/mfa/totp', { token, body: { name: 'Tablet' } })).json();
    const again = (await call(server.app, 'POST', `/auth/mfa/totp/${second.id}/confirm`, { token, body: { code: codeAt(second.secret, now()) } })).json();
    assert.equal(again.recoveryCodes, undefined);
  });

  it('needs a recent sign-in, and registering a factor does not renew it', async () => {
    const { body } = await registerUser(server.app);
    server.clock!.advance(11 * 60_000);
    const refresh = (await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } })).json();
    expectError(await call(server.app, 'POST', '/auth/mfa/totp', { token: refresh.accessToken, body: {} }), 403, 'reauthentication_required');
    expectError(await call(server.app, 'POST', '/auth/password', { token: refresh.accessToken, body: { currentPassword: PASSWORD, newPassword: 'another long passphrase' } }), 403, 'reauthentication_required');
    expectError(await call(server.app, 'POST', '/auth/api-keys', { token: refresh.accessToken, body: { name: 'k' } }), 403, 'reauthentication_required');
    expectError(await call(server.app, 'POST', '/auth/reauthenticate', { token: refresh.accessToken, body: { password: 'wrong password here' } }), 401, 'invalid_credentials');
    assert.equal((await call(server.app, 'POST', '/auth/reauthenticate', { token: refresh.accessToken, body: { password: PASSWORD } })).statusCode, 204);
    assert.equal((await call(server.app, 'POST', '/auth/api-keys', { token: refresh.accessToken, body: { name: 'k' } })).statusCode, 201);
  });
});

describe('the second step', () => {
  it('every mode answers the challenge and starts nothing; the code finishes it in that mode, with amr pwd otp mfa', async () => {
    const user = await enrolled();
    for (const mode of ['token', 'cookie', 'session']) {
      const sessionsBefore = await server.runtime.database.db.selectFrom('sessions').select('id').execute();
      const res = await challenge(user.email, mode);
      const body = res.json();
      assert.deepEqual(Object.keys(body).sort(), ['expiresIn', 'methods', 'mfaRequired', 'mfaTicket']);
      assert.equal(body.mfaRequired, true);
      assert.deepEqual(body.methods, ['totp', 'recovery_code']);
      assert.equal(body.expiresIn, 300);
      assert.equal(res.headers['set-cookie'], undefined, `mode ${mode}: no cookie`);
      assert.equal((await server.runtime.database.db.selectFrom('sessions').select('id').execute()).length, sessionsBefore.length, `mode ${mode}: no session`);
      nextStep();
      const done = await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: body.mfaTicket, code: codeAt(user.secret, now()) } });
      assert.equal(done.statusCode, 200, done.body);
      if (mode === 'session') assert.ok(String(done.headers['set-cookie']).includes('gh_session='));
      else assert.deepEqual(decodeJwt(done.json().accessToken).amr, ['pwd', 'otp', 'mfa']);
      if (mode === 'token') assert.ok(done.json().refreshToken);
      if (mode === 'cookie') assert.equal(done.json().refreshToken, undefined);
    }
  });

  it('accepts a code once: the same code (or an older one) on a new ticket is refused', async () => {
    const user = await enrolled();
    const code = codeAt(user.secret, now());
    const first = (await challenge(user.email)).json().mfaTicket;
    assert.equal((await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: first, code } })).statusCode, 200);
    const second = (await challenge(user.email)).json().mfaTicket;
    expectError(await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: second, code } }), 401, 'invalid_mfa_code');
    expectError(await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: second, code: codeAt(user.secret, now() - 30_000) } }), 401, 'invalid_mfa_code');
  });

  it('a ticket is single use, lives five minutes, is bound to its mode and its user', async () => {
    const a = await enrolled();
    const b = await enrolled();
    const ticket = (await challenge(a.email)).json().mfaTicket;
    assert.equal((await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: ticket, code: codeAt(a.secret, now()) } })).statusCode, 200);
    nextStep();
    expectError(await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: ticket, code: codeAt(a.secret, now()) } }), 401, 'invalid_mfa_ticket');

    const late = (await challenge(a.email)).json().mfaTicket;
    server.clock!.advance(5 * 60_000 + 1000);
    expectError(await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: late, code: codeAt(a.secret, now()) } }), 401, 'invalid_mfa_ticket');

    const sessionTicket = (await challenge(a.email, 'session')).json().mfaTicket;
    nextStep();
    expectError(await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: sessionTicket, code: codeAt(a.secret, now()), mode: 'token' } }), 401, 'invalid_mfa_ticket');

    // B's code is no proof for A's ticket.
    const aTicket = (await challenge(a.email)).json().mfaTicket;
    expectError(await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: aTicket, code: codeAt(b.secret, now()) } }), 401, 'invalid_mfa_code');
    expectError(await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: 'ghm_' + 'A'.repeat(43), code: '123456' } }), 401, 'invalid_mfa_ticket');
  });

  it('a ticket dies after five wrong codes', async () => {
    const user = await enrolled();
    const ticket = (await challenge(user.email)).json().mfaTicket;
    for (let i = 0; i < 5; i++) expectError(await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: ticket, code: '000000' } }), 401, 'invalid_mfa_code');
    expectError(await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: ticket, code: codeAt(user.secret, now()) } }), 401, 'invalid_mfa_ticket');
  });

  it('signs in with a recovery code once (amr rc mfa), tells the owner, and new codes retire the old set', async () => {
    const user = await enrolled();
    const [first, second] = user.recoveryCodes;
    const ticket = (await challenge(user.email)).json().mfaTicket;
    const done = await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: ticket, recoveryCode: first!.toUpperCase() } });
    assert.equal(done.statusCode, 200, done.body);
    assert.deepEqual(decodeJwt(done.json().accessToken).amr, ['pwd', 'rc', 'mfa']);
    const again = (await challenge(user.email)).json().mfaTicket;
    expectError(await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: again, recoveryCode: first } }), 401, 'invalid_mfa_code');
    assert.equal((await call(server.app, 'GET', '/auth/mfa', { token: done.json().accessToken })).json().recoveryCodesLeft, 9);
    await server.runtime.ctx.background.drain();
    const notices = (await readOutbox(outboxDir(server.config))).filter((m) => m.to === user.email).map((m) => m.subject);
    assert.ok(notices.some((s) => s.startsWith('A second factor was added')), 'told when the factor was added');
    assert.ok(notices.some((s) => s.startsWith('A recovery code was used')), 'told when a recovery code was used');

    const fresh = (await call(server.app, 'POST', '/auth/mfa/recovery-codes', { token: done.json().accessToken })).json().recoveryCodes;
    assert.equal(fresh.length, 10);
    const retired = (await challenge(user.email)).json().mfaTicket;
    expectError(await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: retired, recoveryCode: second } }), 401, 'invalid_mfa_code');
    assert.equal((await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: retired, recoveryCode: fresh[0] } })).statusCode, 200);
  });

  it('wrong codes count toward the account limit, across tickets, and the password does not reset the count', async () => {
    const limited = await startTestServer({ fakeClock: T0, env: { RATE_LIMIT_LOGIN_ACCOUNT: '5/15m' } });
    try {
      const user = await enrolled(limited);
      let wrong = 0;
      while (wrong < 5) {
        const res = await call(limited.app, 'POST', '/auth/login', { body: { email: user.email, password: PASSWORD } });
        assert.equal(res.statusCode, 200, res.body);
        for (let i = 0; i < 2 && wrong < 5; i++, wrong++) {
          expectError(await call(limited.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: res.json().mfaTicket, code: String(100000 + wrong) } }), 401, 'invalid_mfa_code');
        }
      }
      expectError(await call(limited.app, 'POST', '/auth/login', { body: { email: user.email, password: PASSWORD } }), 429, 'rate_limited');
    } finally {
      await limited.close();
    }
  });

  it('a removed factor stops the challenge; removal needs a recent sign-in', async () => {
    const user = await enrolled();
    server.clock!.advance(11 * 60_000);
    const ticket = (await challenge(user.email)).json().mfaTicket;
    const signedIn = (await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: ticket, code: codeAt(user.secret, now()) } })).json();
    // The second step just happened: the session is recent.
    assert.equal((await call(server.app, 'DELETE', `/auth/mfa/${user.factorId}`, { token: signedIn.accessToken })).statusCode, 204);
    assert.ok((await login(server.app, user.email)).body.accessToken, 'no challenge without a factor');
    expectError(await call(server.app, 'DELETE', `/auth/mfa/${user.factorId}`, { token: signedIn.accessToken }), 404, 'not_found');
  });
});

describe('step-up with a factor', () => {
  it('an account with a factor re-authenticates with it, never with the password alone', async () => {
    const user = await enrolled();
    server.clock!.advance(11 * 60_000);
    nextStep();
    const ticket = (await challenge(user.email)).json().mfaTicket;
    const token = (await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: ticket, code: codeAt(user.secret, now()) } })).json().accessToken;
    server.clock!.advance(11 * 60_000);
    expectError(await call(server.app, 'POST', '/auth/mfa/recovery-codes', { token }), 403, 'reauthentication_required');
    expectError(await call(server.app, 'POST', '/auth/reauthenticate', { token, body: { password: PASSWORD } }), 400, 'validation_failed');
    expectError(await call(server.app, 'POST', '/auth/reauthenticate', { token, body: { code: '000000' } }), 401, 'invalid_mfa_code');
    assert.equal((await call(server.app, 'POST', '/auth/reauthenticate', { token, body: { code: codeAt(user.secret, now()) } })).statusCode, 204);
    assert.equal((await call(server.app, 'POST', '/auth/mfa/recovery-codes', { token })).statusCode, 200);
  });
});

describe('MFA_REQUIRED_ROLES', () => {
  it('an admin without a factor can only enrol; with one, everything answers', async () => {
    const strict = await startTestServer({ fakeClock: T0, env: { MFA_REQUIRED_ROLES: 'admin' } });
    try {
      const email = uniqueEmail('strict-admin');
      await createUser(strict.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true });
      const token = (await login(strict.app, email)).body.accessToken;
      expectError(await call(strict.app, 'GET', '/admin/users', { token }), 403, 'mfa_enrollment_required');
      expectError(await call(strict.app, 'GET', '/auth/sessions', { token }), 403, 'mfa_enrollment_required');
      assert.equal((await call(strict.app, 'GET', '/auth/me', { token })).statusCode, 200);
      const started = (await call(strict.app, 'POST', '/auth/mfa/totp', { token, body: {} })).json();
      assert.equal((await call(strict.app, 'POST', `/auth/mfa/totp/${started.id}/confirm`, { token, body: { code: codeAt(started.secret, strict.clock!.now) } })).statusCode, 200);
      assert.equal((await call(strict.app, 'GET', '/admin/users', { token })).statusCode, 200);
      // A plain user is not affected.
      const { body } = await registerUser(strict.app);
      assert.equal((await call(strict.app, 'GET', '/auth/sessions', { token: body.accessToken })).statusCode, 200);
    } finally {
      await strict.close();
    }
  });
});

describe('an admin removes a lost factor', () => {
  it('removes every factor and code of the user, audited, the user told', async () => {
    const user = await enrolled();
    const adminEmail = uniqueEmail('mfa-admin');
    await createUser(server.runtime.ctx, { email: adminEmail, password: PASSWORD, role: 'admin', emailVerified: true });
    const admin = (await login(server.app, adminEmail)).body.accessToken;
    const target = (await challenge(user.email)).json();
    assert.equal(target.mfaRequired, true);
    const id = decodeJwt(user.token).sub as string;
    assert.equal((await call(server.app, 'DELETE', `/admin/users/${id}/mfa`, { token: admin })).statusCode, 204);
    assert.ok((await login(server.app, user.email)).body.accessToken, 'password alone signs in again');
    const events = await server.runtime.ctx.audit.list({ userId: id, type: 'mfa_removed', limit: 5 });
    assert.equal(events[0]!.detail?.reason, 'admin');
  });
});
