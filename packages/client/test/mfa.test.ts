// Second factors through the client against a real Gatehouse: login() answers the challenge for an account
// with a factor, verifyMfa() finishes it in the client's mode, reauthenticate() renews a recent sign-in.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, GatehouseError, type GatehouseClient } from '../src/index.ts';
import { PASSWORD, recordingFetch, startGatehouse, totpCode, uniqueEmail, type Gatehouse } from './helpers/gatehouse.ts';

let gatehouse: Gatehouse;
before(async () => {
  gatehouse = await startGatehouse();
});
after(() => gatehouse.close());

const STEP_MS = 30_000;
/** The next TOTP time step: a step accepted once is refused afterwards (RFC 6238 §5.2). */
const nextStep = () => gatehouse.clock.advance(STEP_MS);
const code = async (secret: string) => totpCode(secret, gatehouse.clock.now);

async function json<T>(res: Response): Promise<T> {
  assert.ok(res.ok, `${res.status} ${await res.clone().text()}`);
  return (await res.json()) as T;
}

/** A new account with a confirmed authenticator app, enrolled through a signed-in client. */
async function enrolledAccount(): Promise<{ email: string; secret: string; recoveryCodes: string[] }> {
  const email = uniqueEmail();
  const client = createClient({ baseUrl: gatehouse.url });
  await client.register({ email, password: PASSWORD });
  const post = (path: string, body: object) => client.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const { id, secret } = await json<{ id: string; secret: string }>(await post('/auth/mfa/totp', {}));
  const { recoveryCodes } = await json<{ recoveryCodes: string[] }>(await post(`/auth/mfa/totp/${id}/confirm`, { code: await code(secret) }));
  await client.logout();
  nextStep();
  return { email, secret, recoveryCodes };
}

function amrOf(client: GatehouseClient): string[] {
  return JSON.parse(Buffer.from(client.accessToken!.split('.')[1]!, 'base64url').toString()).amr;
}

describe('the MFA challenge', () => {
  it('login() resolves to the challenge for a TOTP-enrolled account; verifyMfa() with a code signs in', async () => {
    const account = await enrolledAccount();
    const client = createClient({ baseUrl: gatehouse.url });
    const result = await client.login({ email: account.email, password: PASSWORD });
    assert.ok('mfaRequired' in result, 'a challenge, not a user');
    assert.equal(result.mfaRequired, true);
    assert.match(result.mfaTicket, /^ghm_/);
    assert.deepEqual(result.methods, ['totp', 'recovery_code']);
    assert.equal(result.expiresIn, 300);
    assert.equal(client.isAuthenticated, false, 'no tokens after the first factor alone');
    assert.equal(client.user, null);

    const user = await client.verifyMfa({ mfaTicket: result.mfaTicket, code: await code(account.secret) });
    assert.equal(user.email, account.email);
    assert.equal(client.isAuthenticated, true);
    assert.match(client.accessToken!, /^eyJ/);
    assert.deepEqual(amrOf(client).sort(), ['mfa', 'otp', 'pwd']);
    const me = await client.fetch('/auth/me');
    assert.equal(me.status, 200);
  });

  it('a wrong code is GatehouseError invalid_mfa_code and the ticket still works; a recovery code signs in', async () => {
    const account = await enrolledAccount();
    const client = createClient({ baseUrl: gatehouse.url });
    const result = await client.login({ email: account.email, password: PASSWORD });
    assert.ok('mfaRequired' in result);
    const right = await code(account.secret);
    await assert.rejects(client.verifyMfa({ mfaTicket: result.mfaTicket, code: right === '000000' ? '111111' : '000000' }), (err: unknown) => {
      assert.ok(err instanceof GatehouseError);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'invalid_mfa_code');
      return true;
    });
    assert.equal(client.isAuthenticated, false);
    await client.verifyMfa({ mfaTicket: result.mfaTicket, recoveryCode: account.recoveryCodes[0]! });
    assert.equal(client.isAuthenticated, true);
    assert.ok(amrOf(client).includes('rc'));
    await assert.rejects(client.verifyMfa({ mfaTicket: result.mfaTicket, code: right }), (err: unknown) => err instanceof GatehouseError && err.code === 'invalid_mfa_ticket');
  });

  it('finishes in cookie mode too: the refresh token lands in the cookie jar', async () => {
    const account = await enrolledAccount();
    const recorder = recordingFetch({ jar: true });
    const client = createClient({ baseUrl: gatehouse.url, mode: 'cookie', fetch: recorder, crossTab: false });
    const result = await client.login({ email: account.email, password: PASSWORD });
    assert.ok('mfaRequired' in result);
    assert.equal(recorder.cookies.size, 0, 'no cookie for the first factor alone');
    await client.verifyMfa({ mfaTicket: result.mfaTicket, code: await code(account.secret) });
    assert.equal(client.isAuthenticated, true);
    assert.ok([...recorder.cookies.keys()].some((name) => /refresh/.test(name)), [...recorder.cookies.keys()].join());
    assert.equal(JSON.parse(recorder.exchanges.find((e) => e.path === '/auth/mfa/verify')!.body).refreshToken, undefined, 'no refresh token in the body');
    assert.equal(await client.refresh(), true);
  });
});

describe('reauthenticate()', () => {
  it('renews a recent sign-in with a code for an account with a factor', async () => {
    const account = await enrolledAccount();
    const client = createClient({ baseUrl: gatehouse.url });
    const result = await client.login({ email: account.email, password: PASSWORD });
    assert.ok('mfaRequired' in result);
    await client.verifyMfa({ mfaTicket: result.mfaTicket, code: await code(account.secret) });
    gatehouse.clock.advance(11 * 60_000); // past REAUTH_MAX_AGE (10m)
    const regenerate = () => client.fetch('/auth/mfa/recovery-codes', { method: 'POST' });
    const refused = await regenerate();
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'reauthentication_required');

    await assert.rejects(client.reauthenticate({ password: PASSWORD }), (err: unknown) => err instanceof GatehouseError && err.code === 'validation_failed');
    await client.reauthenticate({ code: await code(account.secret) });
    assert.equal((await regenerate()).status, 200);
  });

  it('takes the password for an account without one, and says when it is wrong', async () => {
    const client = createClient({ baseUrl: gatehouse.url });
    await client.register({ email: uniqueEmail(), password: PASSWORD });
    gatehouse.clock.advance(11 * 60_000);
    await assert.rejects(client.reauthenticate({ password: 'not the password at all' }), (err: unknown) => err instanceof GatehouseError && err.code === 'invalid_credentials');
    await client.reauthenticate({ password: PASSWORD });
    const key = await client.fetch('/auth/api-keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'after step-up' }) });
    assert.equal(key.status, 201, await key.clone().text());
  });
});
