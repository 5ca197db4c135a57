// Passkeys through the API, driven by a software authenticator (test/helpers/webauthn.ts): registration behind
// step-up, sign-in with user verification (two factors, signed in), without (the MFA challenge, which never
// offers the same passkey again), usernameless, a passkey as the second step and for step-up, management and
// the last-way-in rule, the same options for known and unknown addresses, and the relying party's settings.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { codeAt } from '../../src/methods/totp/totp.ts';
import { outboxDir } from '../../src/mail/transport.ts';
import { startTestServer, TEST_SECRET, type TestServer } from '../helpers/app.ts';
import { createTestDatabase, redisPrefix, skipUnlessPostgres, skipUnlessRedis } from '../helpers/backends.ts';
import { readOutbox } from '../helpers/mail.ts';
import { PASSWORD, call, cookiesOf, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { SoftAuthenticator } from '../helpers/webauthn.ts';
import { createUser } from '../../src/users/service.ts';

const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);
let server: TestServer;
before(async () => {
  server = await startTestServer({ fakeClock: T0 });
});
after(() => server.close());

interface Owner {
  email: string;
  token: string;
  userId: string;
  authenticator: SoftAuthenticator;
  passkeyId: string;
  recoveryCodes?: string[];
}

/** Adds a passkey made by `authenticator` to the signed-in user behind `token`. */
async function addPasskey(token: string, authenticator: SoftAuthenticator, name?: string) {
  const options = await call(server.app, 'POST', '/auth/passkeys/register/options', { token });
  assert.equal(options.statusCode, 200, options.body);
  const response = authenticator.create(options.json());
  const registered = await call(server.app, 'POST', '/auth/passkeys/register', { token, body: { response, ...(name ? { name } : {}) } });
  assert.equal(registered.statusCode, 201, registered.body);
  return registered.json();
}

/** A new account with a password and one passkey. */
async function owner(options: { uv?: boolean } = {}): Promise<Owner> {
  const { email, body } = await registerUser(server.app);
  const authenticator = new SoftAuthenticator({ uv: options.uv ?? true });
  const passkey = await addPasskey(body.accessToken, authenticator, 'Laptop');
  return { email, token: body.accessToken, userId: body.user.id, authenticator, passkeyId: passkey.id, recoveryCodes: passkey.recoveryCodes };
}

async function loginOptions(email?: string) {
  const res = await call(server.app, 'POST', '/auth/passkeys/login/options', { body: email === undefined ? {} : { email } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

describe('registration', () => {
  it('needs a recent sign-in; the options exclude the passkeys the user has; the passkey is a factor, with recovery codes the first time', async () => {
    const { email, body } = await registerUser(server.app);
    const token = body.accessToken;
    expectError(await call(server.app, 'POST', '/auth/passkeys/register/options'), 401, 'authentication_required');

    const authenticator = new SoftAuthenticator();
    const options = (await call(server.app, 'POST', '/auth/passkeys/register/options', { token })).json();
    assert.equal(options.rp.id, '127.0.0.1');
    assert.equal(options.attestation, 'none');
    assert.deepEqual(options.authenticatorSelection, { residentKey: 'preferred', userVerification: 'preferred', requireResidentKey: false });
    assert.deepEqual(options.excludeCredentials, []);
    assert.notEqual(options.user.id, body.user.id, 'the user handle is not the account id');
    assert.ok(!Buffer.from(options.user.id, 'base64url').toString('utf8').includes(body.user.id));

    const created = await call(server.app, 'POST', '/auth/passkeys/register', { token, body: { response: authenticator.create(options), name: '  My   laptop ' } });
    assert.equal(created.statusCode, 201, created.body);
    const passkey = created.json();
    assert.equal(passkey.name, 'My laptop');
    assert.equal(passkey.recoveryCodes.length, 10, 'the first factor comes with recovery codes');

    const second = await call(server.app, 'POST', '/auth/passkeys/register/options', { token });
    assert.deepEqual(second.json().excludeCredentials.map((c: { id: string }) => c.id), [authenticator.credentials[0]!.id.toString('base64url')]);
    assert.throws(() => authenticator.create(second.json()), /excluded/);
    server.clock!.advance(1000);
    const other = await addPasskey(token, new SoftAuthenticator(), undefined);
    assert.equal(other.name, 'Passkey');
    assert.equal(other.recoveryCodes, undefined, 'only the first factor brings recovery codes');

    const list = (await call(server.app, 'GET', '/auth/passkeys', { token })).json().passkeys;
    assert.deepEqual(list.map((p: { name: string }) => p.name), ['My laptop', 'Passkey']);
    assert.equal(list[0].userVerified, true);
    assert.deepEqual(list[0].transports, ['internal', 'hybrid']);
    const factors = (await call(server.app, 'GET', '/auth/mfa', { token })).json();
    assert.deepEqual(factors.factors.map((f: { type: string }) => f.type), ['webauthn', 'webauthn']);
    assert.equal(factors.recoveryCodesLeft, 10);

    const row = await server.runtime.database.db.selectFrom('mfa_factors').selectAll().where('id', '=', passkey.id).executeTakeFirstOrThrow();
    assert.equal(row.credential_id, authenticator.credentials[0]!.id.toString('base64url'));
    assert.equal(row.user_verified, 1);
    assert.equal(row.discoverable, 1);
    const events = await server.runtime.ctx.audit.list({ userId: body.user.id, type: 'mfa_enrolled', limit: 10 });
    assert.equal(events.length, 2);
    assert.equal(events[0]!.detail?.type, 'webauthn');

    await server.runtime.ctx.background.drain();
    const mail = (await readOutbox(outboxDir(server.config))).filter((m) => m.to === email && m.subject.startsWith('A second factor was added'));
    assert.equal(mail.length, 2, 'the owner is told of each passkey');
    assert.ok(mail.some((m) => m.text.includes('"My laptop" was added')), 'the notice names the passkey');
  });

  it('refuses a challenge used twice, a response for another session, and a registration without a recent sign-in', async () => {
    const { email, body } = await registerUser(server.app);
    const token = body.accessToken;
    const options = (await call(server.app, 'POST', '/auth/passkeys/register/options', { token })).json();
    const response = new SoftAuthenticator().create(options);
    // Another session of the same user cannot finish this one's ceremony.
    const other = (await login(server.app, email)).body.accessToken;
    expectError(await call(server.app, 'POST', '/auth/passkeys/register', { token: other, body: { response } }), 400, 'invalid_webauthn_response');
    // ...and that attempt used the challenge up.
    expectError(await call(server.app, 'POST', '/auth/passkeys/register', { token, body: { response } }), 400, 'invalid_webauthn_response');
    assert.deepEqual((await call(server.app, 'GET', '/auth/passkeys', { token })).json().passkeys, []);

    server.clock!.advance(11 * 60_000);
    expectError(await call(server.app, 'POST', '/auth/passkeys/register/options', { token }), 403, 'reauthentication_required');
  });

  it('a challenge lives five minutes', async () => {
    const { body } = await registerUser(server.app);
    const options = (await call(server.app, 'POST', '/auth/passkeys/register/options', { token: body.accessToken })).json();
    server.clock!.advance(5 * 60_000 + 1);
    const res = await call(server.app, 'POST', '/auth/passkeys/register', { token: body.accessToken, body: { response: new SoftAuthenticator().create(options) } });
    expectError(res, 400, 'invalid_webauthn_response');
  });
});

describe('sign-in with a passkey', () => {
  it('with user verification: signed in alone, amr hwk user mfa, in every mode', async () => {
    const user = await owner();
    for (const mode of ['token', 'cookie', 'session'] as const) {
      const options = await loginOptions(user.email);
      assert.deepEqual(options.allowCredentials.map((c: { id: string }) => c.id), [user.authenticator.credentials[0]!.id.toString('base64url')]);
      assert.equal(options.userVerification, 'preferred');
      const res = await call(server.app, 'POST', '/auth/passkeys/login', { body: { response: user.authenticator.get(options), mode } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().user.email, user.email);
      if (mode === 'session') assert.ok(cookiesOf(res).gh_session?.value);
      else assert.deepEqual(decodeJwt(res.json().accessToken).amr, ['hwk', 'user', 'mfa']);
    }
    const passkey = (await call(server.app, 'GET', '/auth/passkeys', { token: user.token })).json().passkeys[0];
    assert.ok(passkey.lastUsedAt, 'the use is recorded');
    const row = await server.runtime.database.db.selectFrom('mfa_factors').select('sign_count').where('id', '=', user.passkeyId).executeTakeFirstOrThrow();
    assert.equal(Number(row.sign_count), 3, 'the counter moved with each use');
    const events = await server.runtime.ctx.audit.list({ userId: user.userId, type: 'login_ok', limit: 10 });
    assert.equal(events[0]!.detail?.amr, 'hwk user mfa');
  });

  it('usernameless: options without an e-mail ask for a discoverable credential, and the passkey says whose it is', async () => {
    const user = await owner();
    const options = await loginOptions();
    assert.deepEqual(options.allowCredentials, []);
    assert.equal(options.rpId, '127.0.0.1');
    const res = await call(server.app, 'POST', '/auth/passkeys/login', { body: { response: user.authenticator.get(options) } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().user.id, user.userId);
    assert.deepEqual(decodeJwt(res.json().accessToken).amr, ['hwk', 'user', 'mfa']);
  });

  it('without user verification: a first factor only, so the MFA challenge, which does not offer the same passkey again', async () => {
    const user = await owner({ uv: false });
    const list = (await call(server.app, 'GET', '/auth/passkeys', { token: user.token })).json().passkeys;
    assert.equal(list[0].userVerified, false);
    const res = await call(server.app, 'POST', '/auth/passkeys/login', { body: { response: user.authenticator.get(await loginOptions(user.email)) } });
    assert.equal(res.statusCode, 200, res.body);
    const challenge = res.json();
    assert.equal(challenge.mfaRequired, true);
    assert.equal(challenge.accessToken, undefined);
    assert.deepEqual(challenge.methods, ['recovery_code'], 'the passkey that was the first step is not a second');
    assert.equal(cookiesOf(res).gh_session, undefined);
    // Its options have nothing to offer, and the same passkey against the ticket is refused.
    expectError(await call(server.app, 'POST', '/auth/mfa/webauthn/options', { body: { mfaTicket: challenge.mfaTicket } }), 404, 'not_found');
    const done = await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: challenge.mfaTicket, recoveryCode: user.recoveryCodes![0] } });
    assert.equal(done.statusCode, 200, done.body);
    assert.deepEqual(decodeJwt(done.json().accessToken).amr, ['hwk', 'rc', 'mfa']);
  });

  it('without user verification, with an authenticator app too: the app finishes it (amr hwk otp mfa); a second passkey is offered', async () => {
    const user = await owner({ uv: false });
    const started = (await call(server.app, 'POST', '/auth/mfa/totp', { token: user.token, body: {} })).json();
    assert.equal((await call(server.app, 'POST', `/auth/mfa/totp/${started.id}/confirm`, { token: user.token, body: { code: codeAt(started.secret, server.clock!.now) } })).statusCode, 200);
    server.clock!.advance(30_000);
    const first = (await call(server.app, 'POST', '/auth/passkeys/login', { body: { response: user.authenticator.get(await loginOptions(user.email)) } })).json();
    assert.deepEqual(first.methods, ['totp', 'recovery_code']);
    const done = await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: first.mfaTicket, code: codeAt(started.secret, server.clock!.now) } });
    assert.equal(done.statusCode, 200, done.body);
    assert.deepEqual(decodeJwt(done.json().accessToken).amr, ['hwk', 'otp', 'mfa']);

    // A second (security key) passkey: offered for the second step, and it finishes it; the first is not offered.
    const key = new SoftAuthenticator({ uv: false });
    await addPasskey(user.token, key, 'Security key');
    const again = (await call(server.app, 'POST', '/auth/passkeys/login', { body: { response: user.authenticator.get(await loginOptions(user.email)) } })).json();
    assert.deepEqual(again.methods, ['totp', 'webauthn', 'recovery_code']);
    const options = (await call(server.app, 'POST', '/auth/mfa/webauthn/options', { body: { mfaTicket: again.mfaTicket } })).json();
    assert.deepEqual(options.allowCredentials.map((c: { id: string }) => c.id), [key.credentials[0]!.id.toString('base64url')]);
    // The first passkey, signing these options anyway, is refused...
    const same = user.authenticator.get(options, { credentialId: user.authenticator.credentials[0]!.id.toString('base64url') });
    expectError(await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: again.mfaTicket, webauthn: same } }), 400, 'invalid_webauthn_response');
    // ...and the other finishes it (the ticket survives one wrong try).
    const retry = (await call(server.app, 'POST', '/auth/mfa/webauthn/options', { body: { mfaTicket: again.mfaTicket } })).json();
    const finished = await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: again.mfaTicket, webauthn: key.get(retry) } });
    assert.equal(finished.statusCode, 200, finished.body);
    assert.deepEqual(decodeJwt(finished.json().accessToken).amr, ['hwk', 'mfa']);
  });

  it('a passkey is the second step after a password (amr pwd hwk user mfa)', async () => {
    const user = await owner();
    const first = (await call(server.app, 'POST', '/auth/login', { body: { email: user.email, password: PASSWORD } })).json();
    assert.equal(first.mfaRequired, true, 'a passkey is a second factor for the password');
    assert.deepEqual(first.methods, ['webauthn', 'recovery_code']);
    expectError(await call(server.app, 'POST', '/auth/mfa/webauthn/options', { body: { mfaTicket: 'ghm_not-a-ticket' } }), 401, 'invalid_mfa_ticket');
    const options = (await call(server.app, 'POST', '/auth/mfa/webauthn/options', { body: { mfaTicket: first.mfaTicket } })).json();
    const done = await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: first.mfaTicket, webauthn: user.authenticator.get(options), mode: 'token' } });
    assert.equal(done.statusCode, 200, done.body);
    assert.deepEqual(decodeJwt(done.json().accessToken).amr, ['pwd', 'hwk', 'user', 'mfa']);
  });

  it('a disabled account is refused after a valid assertion', async () => {
    const user = await owner();
    await server.runtime.ctx.users.update(user.userId, { disabledAt: server.clock!.now }, server.clock!.now);
    const res = await call(server.app, 'POST', '/auth/passkeys/login', { body: { response: user.authenticator.get(await loginOptions(user.email)) } });
    expectError(res, 403, 'account_disabled');
  });
});

describe('step-up with a passkey', () => {
  it('renews a recent sign-in for the session the options were asked for', async () => {
    const user = await owner();
    server.clock!.advance(11 * 60_000);
    expectError(await call(server.app, 'DELETE', `/auth/passkeys/${user.passkeyId}`, { token: user.token }), 403, 'reauthentication_required');
    const options = await call(server.app, 'POST', '/auth/reauthenticate/webauthn/options', { token: user.token });
    assert.equal(options.statusCode, 200, options.body);
    const assertion = user.authenticator.get(options.json());
    // Another session of the same user cannot use it.
    const other = await call(server.app, 'POST', '/auth/passkeys/login', { body: { response: user.authenticator.get(await loginOptions()) } });
    expectError(await call(server.app, 'POST', '/auth/reauthenticate', { token: other.json().accessToken, body: { webauthn: assertion } }), 400, 'invalid_webauthn_response');
    // A fresh one for this session works.
    const fresh = user.authenticator.get((await call(server.app, 'POST', '/auth/reauthenticate/webauthn/options', { token: user.token })).json());
    assert.equal((await call(server.app, 'POST', '/auth/reauthenticate', { token: user.token, body: { webauthn: fresh } })).statusCode, 204);
    // The password alone is not enough any more: the account has a factor.
    expectError(await call(server.app, 'POST', '/auth/reauthenticate', { token: user.token, body: { password: PASSWORD } }), 400, 'validation_failed');
    const events = await server.runtime.ctx.audit.list({ userId: user.userId, type: 'reauthenticated', limit: 1 });
    assert.equal(events[0]!.detail?.amr, 'hwk user');
  });

  it('options need a passkey', async () => {
    const { body } = await registerUser(server.app);
    expectError(await call(server.app, 'POST', '/auth/reauthenticate/webauthn/options', { token: body.accessToken }), 404, 'not_found');
  });
});

describe('management', () => {
  it('renames, lists and removes; the last way in stays (409), whichever route removes it', async () => {
    const user = await owner();
    const renamed = await call(server.app, 'PATCH', `/auth/passkeys/${user.passkeyId}`, { token: user.token, body: { name: 'Work laptop' } });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.equal(renamed.json().name, 'Work laptop');
    expectError(await call(server.app, 'PATCH', `/auth/passkeys/${user.passkeyId}`, { token: user.token, body: { name: '   ' } }), 400, 'validation_failed');
    const stranger = await registerUser(server.app);
    expectError(await call(server.app, 'PATCH', `/auth/passkeys/${user.passkeyId}`, { token: stranger.body.accessToken, body: { name: 'Mine' } }), 404, 'not_found');
    expectError(await call(server.app, 'DELETE', `/auth/passkeys/${user.passkeyId}`, { token: stranger.body.accessToken }), 404, 'not_found');

    // An account whose only ways in are passkeys (no password, no provider).
    const spare = await addPasskey(user.token, new SoftAuthenticator(), 'Phone');
    await server.runtime.database.db.updateTable('users').set({ password_hash: null }).where('id', '=', user.userId).execute();
    assert.equal((await call(server.app, 'DELETE', `/auth/passkeys/${spare.id}`, { token: user.token })).statusCode, 204);
    expectError(await call(server.app, 'DELETE', `/auth/passkeys/${user.passkeyId}`, { token: user.token }), 409, 'conflict');
    expectError(await call(server.app, 'DELETE', `/auth/mfa/${user.passkeyId}`, { token: user.token }), 409, 'conflict');
    assert.equal((await call(server.app, 'GET', '/auth/passkeys', { token: user.token })).json().passkeys.length, 1);
    const removed = await server.runtime.ctx.audit.list({ userId: user.userId, type: 'mfa_removed', limit: 10 });
    assert.equal(removed.length, 1);
    assert.equal(removed[0]!.detail?.type, 'webauthn');
  });

  it('a passkey without user verification is not a way in by itself', async () => {
    const user = await owner({ uv: false });
    await addPasskey(user.token, new SoftAuthenticator({ uv: true }), 'Phone');
    const phone = (await call(server.app, 'GET', '/auth/passkeys', { token: user.token })).json().passkeys.find((p: { name: string }) => p.name === 'Phone');
    await server.runtime.database.db.updateTable('users').set({ password_hash: null }).where('id', '=', user.userId).execute();
    expectError(await call(server.app, 'DELETE', `/auth/passkeys/${phone.id}`, { token: user.token }), 409, 'conflict');
    assert.equal((await call(server.app, 'DELETE', `/auth/passkeys/${user.passkeyId}`, { token: user.token })).statusCode, 204);
  });
});

describe('MFA_REQUIRED_ROLES', () => {
  it('a user who must enrol a second factor may add a passkey, and the passkey satisfies the requirement', async () => {
    const strict = await startTestServer({ fakeClock: T0, env: { MFA_REQUIRED_ROLES: 'admin' } });
    try {
      const email = uniqueEmail('strict-passkey');
      await createUser(strict.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true });
      const token = (await login(strict.app, email)).body.accessToken;
      const refused = await call(strict.app, 'GET', '/admin/users', { token });
      expectError(refused, 403, 'mfa_enrollment_required');
      assert.match(refused.json().error.message, /POST \/auth\/passkeys\/register\/options/, 'the refusal names the passkey route too');

      // The enrolment routes answer: the passkey list, its options and its registration.
      assert.deepEqual((await call(strict.app, 'GET', '/auth/passkeys', { token })).json(), { passkeys: [] });
      const options = await call(strict.app, 'POST', '/auth/passkeys/register/options', { token });
      assert.equal(options.statusCode, 200, options.body);
      const authenticator = new SoftAuthenticator();
      const registered = await call(strict.app, 'POST', '/auth/passkeys/register', { token, body: { response: authenticator.create(options.json()), name: 'Laptop' } });
      assert.equal(registered.statusCode, 201, registered.body);
      assert.equal(registered.json().recoveryCodes.length, 10);

      // The requirement is met: the same token now reaches everything, and so does a sign-in with the passkey.
      assert.equal((await call(strict.app, 'GET', '/admin/users', { token })).statusCode, 200);
      const passkeyOptions = (await call(strict.app, 'POST', '/auth/passkeys/login/options', { body: {} })).json();
      const signedIn = await call(strict.app, 'POST', '/auth/passkeys/login', { body: { response: authenticator.get(passkeyOptions) } });
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      assert.equal((await call(strict.app, 'GET', '/admin/users', { token: signedIn.json().accessToken })).statusCode, 200);
      // The password now needs the second step, which the passkey answers.
      const challenge = (await login(strict.app, email)).body;
      assert.equal(challenge.mfaRequired, true);
      assert.deepEqual(challenge.methods, ['webauthn', 'recovery_code']);
    } finally {
      await strict.close();
    }
  });
});

describe('options for an e-mail', () => {
  it('have the same shape for a known and an unknown address, and the same decoys every time for the unknown one', async () => {
    const user = await owner();
    const noPasskey = await registerUser(server.app);
    const unknown = uniqueEmail('nobody');
    const known = await loginOptions(user.email);
    const without = await loginOptions(noPasskey.email);
    const missing = await loginOptions(unknown);
    const again = await loginOptions(unknown.toUpperCase());
    const shape = (o: Record<string, unknown>) => JSON.stringify(Object.keys(o).sort()) + JSON.stringify(Object.keys((o.allowCredentials as object[])[0]!).sort());
    assert.equal(shape(known), shape(missing));
    assert.equal(shape(without), shape(missing));
    assert.ok(missing.allowCredentials.length >= 1);
    for (const c of missing.allowCredentials) assert.equal(Buffer.from(c.id, 'base64url').length, 32);
    assert.deepEqual(again.allowCredentials, missing.allowCredentials, 'deterministic per address');
    assert.notEqual(again.challenge, missing.challenge);
    assert.notDeepEqual(without.allowCredentials, missing.allowCredentials);

    // The challenge for one address is no use for another account's passkey.
    const res = await call(server.app, 'POST', '/auth/passkeys/login', { body: { response: user.authenticator.get(missing, { credentialId: user.authenticator.credentials[0]!.id.toString('base64url') }) } });
    expectError(res, 400, 'invalid_webauthn_response');
  });
});

describe('the relying party from the config', () => {
  const base = { NODE_ENV: 'test', PUBLIC_URL: 'https://auth.example.com', GATEHOUSE_SECRET: TEST_SECRET, DATA_DIR: '/tmp/gatehouse-passkeys-config-test' };

  it('defaults to PUBLIC_URL host and origin, attestation none', () => {
    const config = loadConfig(base);
    assert.deepEqual(config.webauthn, { rpId: 'auth.example.com', origins: ['https://auth.example.com'], attestation: 'none' });
  });

  it('takes a parent domain and more origins under it', () => {
    const config = loadConfig({ ...base, WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://app.example.com, https://example.com', WEBAUTHN_ATTESTATION: 'direct' });
    assert.deepEqual(config.webauthn, { rpId: 'example.com', origins: ['https://auth.example.com', 'https://app.example.com', 'https://example.com'], attestation: 'direct' });
  });

  it('refuses an RP id that is not a suffix of every origin, an origin with a path, and an unknown attestation', () => {
    assert.throws(() => loadConfig({ ...base, WEBAUTHN_RP_ID: 'other.com' }), (e) => e instanceof ConfigError && e.variable === 'WEBAUTHN_RP_ID');
    assert.throws(() => loadConfig({ ...base, WEBAUTHN_RP_ID: 'ample.com' }), (e) => e instanceof ConfigError && e.variable === 'WEBAUTHN_RP_ID');
    assert.throws(() => loadConfig({ ...base, WEBAUTHN_ORIGINS: 'https://evil.test' }), (e) => e instanceof ConfigError && e.variable === 'WEBAUTHN_ORIGINS');
    assert.throws(() => loadConfig({ ...base, WEBAUTHN_ORIGINS: 'https://app.example.com/path' }), (e) => e instanceof ConfigError && e.variable === 'WEBAUTHN_ORIGINS');
    assert.throws(() => loadConfig({ ...base, WEBAUTHN_RP_ID: 'https://example.com' }), (e) => e instanceof ConfigError && e.variable === 'WEBAUTHN_RP_ID');
    assert.throws(() => loadConfig({ ...base, WEBAUTHN_ATTESTATION: 'enterprise' }), (e) => e instanceof ConfigError && e.variable === 'WEBAUTHN_ATTESTATION');
  });
});

describe('on PostgreSQL and Redis, across two instances', { skip: (await skipUnlessPostgres()) || (await skipUnlessRedis()) }, () => {
  it('a challenge from one instance is finished on the other, once; the counter only moves forward', async () => {
    const database = await createTestDatabase();
    const shared = { postgres: true, redis: true, fakeClock: T0, databaseUrl: database.url, redisPrefix: redisPrefix() };
    const first = await startTestServer(shared);
    const second = await startTestServer(shared);
    try {
      const { email, body } = await registerUser(first.app);
      const authenticator = new SoftAuthenticator();
      const creation = (await call(first.app, 'POST', '/auth/passkeys/register/options', { token: body.accessToken })).json();
      assert.equal((await call(second.app, 'POST', '/auth/passkeys/register', { token: body.accessToken, body: { response: authenticator.create(creation) } })).statusCode, 201);
      const options = (await call(second.app, 'POST', '/auth/passkeys/login/options', { body: { email } })).json();
      const assertion = authenticator.get(options);
      const [a, b] = await Promise.all([call(first.app, 'POST', '/auth/passkeys/login', { body: { response: assertion } }), call(second.app, 'POST', '/auth/passkeys/login', { body: { response: assertion } })]);
      assert.deepEqual([a.statusCode, b.statusCode].sort(), [200, 400], 'one of two racing uses passes');
      const stale = authenticator.get((await call(first.app, 'POST', '/auth/passkeys/login/options', { body: {} })).json(), { counter: 1 });
      expectError(await call(second.app, 'POST', '/auth/passkeys/login', { body: { response: stale } }), 400, 'invalid_webauthn_response');
      const row = await first.runtime.database.db.selectFrom('mfa_factors').select('sign_count').where('user_id', '=', body.user.id).executeTakeFirstOrThrow();
      assert.equal(Number(row.sign_count), 1);
    } finally {
      await second.close();
      await first.close();
      await database.drop();
    }
  });
});
