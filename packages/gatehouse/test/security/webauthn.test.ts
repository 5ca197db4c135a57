// Attack catalogue: forged and misused WebAuthn responses. A software authenticator (test/helpers/webauthn.ts)
// makes what a browser would send, then each attack bends one thing: a replayed assertion, another origin,
// another RP id's hash, a challenge from another ceremony or for another account, a counter that went
// backwards (a cloned authenticator), another user's credential against this user's MFA ticket, a signature or
// flag changed after signing. Each is 400 invalid_webauthn_response, starts no session, and changes no row of
// the database nor adds anything to the shared state (the challenge it spent is gone: single use).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, cookiesOf, expectError, registerUser } from '../helpers/http.ts';
import { FLAG, SoftAuthenticator, tamperAuthData, tamperSignature } from '../helpers/webauthn.ts';
import { addedAuditTypes, addedState, changedDatabaseTables, snapshot } from './snapshot.ts';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
let server: TestServer;

interface Account {
  email: string;
  userId: string;
  token: string;
  authenticator: SoftAuthenticator;
  credentialId: string;
}

let victim: Account;
let attacker: Account;

async function account(uv = true): Promise<Account> {
  const { email, body } = await registerUser(server.app);
  const authenticator = new SoftAuthenticator({ uv });
  const options = (await call(server.app, 'POST', '/auth/passkeys/register/options', { token: body.accessToken })).json();
  const res = await call(server.app, 'POST', '/auth/passkeys/register', { token: body.accessToken, body: { response: authenticator.create(options) } });
  assert.equal(res.statusCode, 201, res.body);
  return { email, userId: body.user.id, token: body.accessToken, authenticator, credentialId: authenticator.credentials[0]!.id.toString('base64url') };
}

const loginOptions = async (email?: string) => (await call(server.app, 'POST', '/auth/passkeys/login/options', { body: email ? { email } : {} })).json();
const passkeyLogin = (response: unknown) => call(server.app, 'POST', '/auth/passkeys/login', { body: { response } });

async function sessionRows(): Promise<number> {
  return (await server.runtime.database.db.selectFrom('sessions').select('id').execute()).length;
}

/**
 * Runs `attack` and checks the refusal: 400 invalid_webauthn_response, no token or session cookie, no new
 * session, no database row changed, nothing added to the shared state except what `allowedState` names.
 */
async function refused(attack: () => Promise<LightMyRequestResponse>, allowedState: (entry: string) => boolean = () => false): Promise<string[]> {
  const before = await snapshot(server);
  const sessions = await sessionRows();
  const res = await attack();
  expectError(res, 400, 'invalid_webauthn_response');
  assert.doesNotMatch(res.body, /accessToken|refreshToken|mfaTicket/);
  assert.equal(cookiesOf(res).gh_session, undefined);
  assert.equal(await sessionRows(), sessions, 'no session');
  const after = await snapshot(server);
  assert.deepEqual(changedDatabaseTables(before, after), [], 'no row changed');
  assert.deepEqual(addedState(before, after).filter((e) => !allowedState(e)), [], 'nothing new in the shared state');
  return addedAuditTypes(before, after);
}

before(async () => {
  server = await startTestServer({ fakeClock: T0 });
  victim = await account();
  attacker = await account();
});
after(() => server.close());

describe('forged or misused passkey responses are refused and change nothing', () => {
  it('a replayed assertion (its challenge is spent, its counter is not ahead)', async () => {
    const assertion = victim.authenticator.get(await loginOptions(victim.email));
    assert.equal((await passkeyLogin(assertion)).statusCode, 200);
    await refused(() => passkeyLogin(assertion));
  });

  it('an assertion made for another origin (a phishing site relaying the challenge)', async () => {
    const options = await loginOptions(victim.email);
    await refused(() => passkeyLogin(victim.authenticator.get(options, { origin: 'https://127.0.0.1.evil.test' })));
    await refused(async () => passkeyLogin(victim.authenticator.get(await loginOptions(victim.email), { origin: 'http://127.0.0.1:3001' })));
  });

  it("an assertion whose authenticator data carries another RP id's hash", async () => {
    await refused(async () => passkeyLogin(victim.authenticator.get(await loginOptions(victim.email), { rpId: 'evil.test' })));
  });

  it('a registration ceremony answered with an assertion, and an assertion for a registration challenge', async () => {
    const creation = (await call(server.app, 'POST', '/auth/passkeys/register/options', { token: victim.token })).json();
    await refused(() => passkeyLogin(victim.authenticator.get({ challenge: creation.challenge, rpId: creation.rp.id })));
    // The type of the client data must be webauthn.get, whatever challenge it carries.
    await refused(async () => passkeyLogin(victim.authenticator.get(await loginOptions(), { type: 'webauthn.create' })));
  });

  it("a challenge issued for another account's e-mail, an MFA ticket's or a step-up's, used to sign in", async () => {
    await refused(async () => passkeyLogin(attacker.authenticator.get(await loginOptions(victim.email), { credentialId: attacker.credentialId })));
    const ticket = (await call(server.app, 'POST', '/auth/login', { body: { email: attacker.email, password: PASSWORD } })).json().mfaTicket;
    const mfa = (await call(server.app, 'POST', '/auth/mfa/webauthn/options', { body: { mfaTicket: ticket } })).json();
    await refused(() => passkeyLogin(attacker.authenticator.get(mfa)));
    const reauth = (await call(server.app, 'POST', '/auth/reauthenticate/webauthn/options', { token: attacker.token })).json();
    await refused(() => passkeyLogin(attacker.authenticator.get(reauth)));
  });

  it('a challenge the server never issued, and one past its five minutes', async () => {
    await refused(() => passkeyLogin(victim.authenticator.get({ challenge: Buffer.alloc(32, 7).toString('base64url') })));
    const options = await loginOptions();
    server.clock!.advance(5 * 60_000 + 1);
    await refused(() => passkeyLogin(victim.authenticator.get(options)));
  });

  it('a counter that went backwards (a cloned authenticator) is refused and audited', async () => {
    // Two uses move the stored counter to a known value; a clone then presents an older one.
    for (let i = 0; i < 2; i++) assert.equal((await passkeyLogin(victim.authenticator.get(await loginOptions()))).statusCode, 200);
    const stored = Number((await server.runtime.database.db.selectFrom('mfa_factors').select('sign_count').where('credential_id', '=', victim.credentialId).executeTakeFirstOrThrow()).sign_count);
    assert.ok(stored >= 2);
    const options = await loginOptions();
    const audited = await refused(() => passkeyLogin(victim.authenticator.get(options, { counter: stored - 1 })));
    assert.deepEqual(audited, ['login_failed']);
    const [event] = await server.runtime.ctx.audit.list({ userId: victim.userId, type: 'login_failed', limit: 1 });
    assert.equal(event!.detail?.reason, 'counter_regressed');
    assert.equal(event!.detail?.stored, stored);
    // The same counter again is not ahead either.
    await refused(async () => passkeyLogin(victim.authenticator.get(await loginOptions(), { counter: stored })));
  });

  it("another user's passkey against this user's MFA ticket (the ticket keeps its other tries)", async () => {
    const ticket = (await call(server.app, 'POST', '/auth/login', { body: { email: victim.email, password: PASSWORD } })).json().mfaTicket;
    assert.ok(ticket);
    const options = (await call(server.app, 'POST', '/auth/mfa/webauthn/options', { body: { mfaTicket: ticket } })).json();
    const forged = attacker.authenticator.get(options, { credentialId: attacker.credentialId });
    // The wrong try is counted on the ticket, as for a wrong code: that entry is the only change.
    const audited = await refused(
      () => call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: ticket, webauthn: forged } }),
      (entry) => entry.startsWith('mfa:ticket:'),
    );
    assert.ok(audited.includes('mfa_failed'));
    // The victim's own passkey, for a fresh challenge, still finishes the ticket.
    const again = (await call(server.app, 'POST', '/auth/mfa/webauthn/options', { body: { mfaTicket: ticket } })).json();
    assert.equal((await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: ticket, webauthn: victim.authenticator.get(again) } })).statusCode, 200);
  });

  it("another user's passkey, or a sign-in challenge, used for this session's step-up", async () => {
    const options = (await call(server.app, 'POST', '/auth/reauthenticate/webauthn/options', { token: victim.token })).json();
    await refused(() => call(server.app, 'POST', '/auth/reauthenticate', { token: victim.token, body: { webauthn: attacker.authenticator.get(options, { credentialId: attacker.credentialId }) } }));
    await refused(async () => call(server.app, 'POST', '/auth/reauthenticate', { token: victim.token, body: { webauthn: victim.authenticator.get(await loginOptions()) } }));
  });

  it('a signature changed after signing, and a UV or UP flag changed after signing', async () => {
    await refused(async () => passkeyLogin(tamperSignature(victim.authenticator.get(await loginOptions()))));
    const keyOnly = await account(false);
    // A security key without user verification, its assertion promoted to "verified" to skip the second step.
    await refused(async () => passkeyLogin(tamperAuthData(keyOnly.authenticator.get(await loginOptions()), (data) => (data[32] = data[32]! | FLAG.UV))));
    // No user presence at all is refused even when signed so.
    await refused(async () => passkeyLogin(victim.authenticator.get(await loginOptions(), { up: false })));
  });

  it("a user handle that is not the credential owner's", async () => {
    await refused(async () => passkeyLogin(victim.authenticator.get(await loginOptions(), { userHandle: Buffer.alloc(32, 1).toString('base64url') })));
  });

  it("a registration finished with another account's options", async () => {
    const options = (await call(server.app, 'POST', '/auth/passkeys/register/options', { token: attacker.token })).json();
    const response = new SoftAuthenticator().create(options);
    await refused(() => call(server.app, 'POST', '/auth/passkeys/register', { token: victim.token, body: { response } }));
    // ...or for another origin, or another RP id.
    const fresh = (await call(server.app, 'POST', '/auth/passkeys/register/options', { token: victim.token })).json();
    await refused(() => call(server.app, 'POST', '/auth/passkeys/register', { token: victim.token, body: { response: new SoftAuthenticator().create(fresh, { origin: 'https://evil.test' }) } }));
    const third = (await call(server.app, 'POST', '/auth/passkeys/register/options', { token: victim.token })).json();
    await refused(() => call(server.app, 'POST', '/auth/passkeys/register', { token: victim.token, body: { response: new SoftAuthenticator().create(third, { rpId: 'evil.test' }) } }));
  });
});
