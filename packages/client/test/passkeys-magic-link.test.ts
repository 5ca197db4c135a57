// Passkeys and magic links through the client against a real Gatehouse. The passkey ceremonies run through the
// `webauthn` adapter, here the server's software authenticator (test/helpers/webauthn.ts in the server package)
// standing in for @simplewebauthn/browser and the browser's navigator.credentials; the magic links are read
// from the server's outbox.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, GatehouseError, type GatehouseClient, type WebAuthnAdapter } from '../src/index.ts';
import { PASSWORD, recordingFetch, startGatehouse, uniqueEmail, type Gatehouse } from './helpers/gatehouse.ts';

let gatehouse: Gatehouse;
before(async () => {
  gatehouse = await startGatehouse({ MAGIC_LINK_SIGNUP: 'true' });
});
after(() => gatehouse.close());

interface Soft {
  uv: boolean;
  create(options: object): object;
  get(options: object): object;
}

/** An authenticator (with user verification unless `uv: false`) behind the adapter the client takes. */
async function softAdapter(options: { uv?: boolean } = {}): Promise<{ adapter: WebAuthnAdapter & { autofill: boolean[] }; authenticator: Soft }> {
  const { SoftAuthenticator } = await import(new URL('../../gatehouse/test/helpers/webauthn.ts', import.meta.url).href);
  const authenticator: Soft = new SoftAuthenticator({ origin: new URL(gatehouse.config.publicUrl).origin, uv: options.uv ?? true });
  const autofill: boolean[] = [];
  return {
    authenticator,
    adapter: {
      autofill,
      async startRegistration({ optionsJSON }) {
        return authenticator.create(optionsJSON);
      },
      async startAuthentication({ optionsJSON, useBrowserAutofill }) {
        autofill.push(useBrowserAutofill === true);
        return authenticator.get(optionsJSON);
      },
    },
  };
}

function amrOf(client: GatehouseClient): string[] {
  return (JSON.parse(Buffer.from(client.accessToken!.split('.')[1]!, 'base64url').toString()).amr as string[]).sort();
}

describe('passkeys', () => {
  it("registerPasskey() adds one (with the first factor's recovery codes); signInWithPasskey() signs in usernameless or by e-mail", async () => {
    const { adapter } = await softAdapter();
    const email = uniqueEmail();
    const owner = createClient({ baseUrl: gatehouse.url, webauthn: adapter });
    await owner.register({ email, password: PASSWORD });
    const added = await owner.registerPasskey({ name: 'Laptop' });
    assert.equal(added.name, 'Laptop');
    assert.match(added.createdAt, /^\d{4}-/);
    assert.equal(added.recoveryCodes?.length, 10, "the account's first factor");
    await assert.rejects(owner.registerPasskey(), /InvalidStateError/, 'the options exclude the passkeys the account has');

    const usernameless = createClient({ baseUrl: gatehouse.url, webauthn: adapter });
    const user = await usernameless.signInWithPasskey();
    assert.ok(!('mfaRequired' in user));
    assert.equal(user.email, email);
    assert.deepEqual(amrOf(usernameless), ['hwk', 'mfa', 'user'], 'a passkey that verified the user is two factors');
    assert.equal((await usernameless.fetch('/auth/me')).status, 200);

    const byEmail = createClient({ baseUrl: gatehouse.url, webauthn: adapter });
    const again = await byEmail.signInWithPasskey({ email, useBrowserAutofill: true });
    assert.ok(!('mfaRequired' in again) && again.email === email);
    assert.deepEqual(adapter.autofill, [false, true], 'useBrowserAutofill reaches the adapter');

    // Step-up with a passkey.
    await byEmail.reauthenticateWithPasskey();
  });

  it('a passkey without user verification gets the challenge; verifyMfaWithPasskey() finishes it with another passkey', async () => {
    const laptop = (await softAdapter()).authenticator;
    const securityKey = (await softAdapter({ uv: false })).authenticator;
    // One adapter, whichever authenticator the person holds up.
    let held = laptop;
    const adapter: WebAuthnAdapter = {
      startRegistration: async ({ optionsJSON }) => held.create(optionsJSON),
      startAuthentication: async ({ optionsJSON }) => held.get(optionsJSON),
    };
    const email = uniqueEmail();
    const owner = createClient({ baseUrl: gatehouse.url, webauthn: adapter });
    await owner.register({ email, password: PASSWORD });
    await owner.registerPasskey({ name: 'Laptop' });
    held = securityKey;
    await owner.registerPasskey({ name: 'Security key' });

    const client = createClient({ baseUrl: gatehouse.url, webauthn: adapter });
    const result = await client.signInWithPasskey({ email });
    assert.ok('mfaRequired' in result, 'possession alone: the second step');
    assert.deepEqual(result.methods, ['webauthn', 'recovery_code'], 'another passkey (the laptop) may be the second step');
    assert.equal(client.isAuthenticated, false);
    await assert.rejects(client.verifyMfaWithPasskey({ mfaTicket: result.mfaTicket }), /NotAllowedError/, 'the same key cannot count twice: its options leave it out');
    held = laptop;
    const user = await client.verifyMfaWithPasskey({ mfaTicket: result.mfaTicket });
    assert.equal(user.email, email);
    assert.ok(amrOf(client).includes('hwk') && amrOf(client).includes('mfa'));
  });

  it('without a webauthn adapter, the passkey methods say what is missing; a registration needs a recent sign-in', async () => {
    const client = createClient({ baseUrl: gatehouse.url });
    await assert.rejects(client.signInWithPasskey(), (err: unknown) => err instanceof TypeError && /webauthn/.test(err.message));
    const { adapter } = await softAdapter();
    const stale = createClient({ baseUrl: gatehouse.url, webauthn: adapter });
    await stale.register({ email: uniqueEmail(), password: PASSWORD });
    gatehouse.clock.advance(11 * 60_000);
    await assert.rejects(stale.registerPasskey(), (err: unknown) => err instanceof GatehouseError && err.status === 403 && err.code === 'reauthentication_required');
    await stale.reauthenticate({ password: PASSWORD });
    assert.equal((await stale.registerPasskey()).name, 'Passkey');
  });
});

describe('magic links', () => {
  const tokenIn = (text: string) => text.match(/\/magic-link\?token=([A-Za-z0-9_-]+)/)?.[1];
  const codeIn = (text: string) => text.match(/\b(\d{6})\b/)?.[1];

  it('requestMagicLink() mails a link and a code; verifyMagicLink() signs in with either, once', async () => {
    const email = uniqueEmail();
    const fetch = recordingFetch();
    const client = createClient({ baseUrl: gatehouse.url, fetch });
    await client.requestMagicLink(email, '/account');
    const sent = fetch.exchanges.find((e) => e.path === '/auth/magic-link');
    assert.equal(sent?.status, 202);
    let [mail] = await gatehouse.mailsTo(email);
    const token = tokenIn(mail!.text);
    assert.ok(token, mail!.text);
    const user = await client.verifyMagicLink({ token: token! });
    assert.ok(!('mfaRequired' in user));
    assert.equal(user.email, email);
    assert.equal(user.emailVerified, true, 'using a link verifies the address');
    assert.deepEqual(amrOf(client), ['email']);
    await assert.rejects(createClient({ baseUrl: gatehouse.url }).verifyMagicLink({ token: token! }), (err: unknown) => err instanceof GatehouseError && err.status === 400);

    // The code, for a mail read on another device.
    await client.requestMagicLink(email);
    const mails = await gatehouse.mailsTo(email);
    mail = mails[mails.length - 1];
    const code = codeIn(mail!.text);
    assert.ok(code, mail!.text);
    const other = createClient({ baseUrl: gatehouse.url });
    await assert.rejects(other.verifyMagicLink({ email, code: code === '000000' ? '111111' : '000000' }), GatehouseError);
    const again = await other.verifyMagicLink({ email, code: code! });
    assert.ok(!('mfaRequired' in again) && again.email === email);
  });

  it('verifyMagicLink() resolves to the challenge for an account with a second factor', async () => {
    const { adapter } = await softAdapter();
    const email = uniqueEmail();
    const owner = createClient({ baseUrl: gatehouse.url, webauthn: adapter });
    await owner.register({ email, password: PASSWORD });
    await owner.registerPasskey();
    const client = createClient({ baseUrl: gatehouse.url, webauthn: adapter });
    await client.requestMagicLink(email);
    const mails = await gatehouse.mailsTo(email);
    const token = tokenIn(mails[mails.length - 1]!.text)!;
    const result = await client.verifyMagicLink({ token });
    assert.ok('mfaRequired' in result);
    assert.equal(client.isAuthenticated, false);
    await client.verifyMfaWithPasskey({ mfaTicket: result.mfaTicket });
    assert.deepEqual(amrOf(client), ['email', 'hwk', 'mfa', 'user']);
  });

  it('requestMagicLink() refuses a malformed address with validation_failed', async () => {
    const client = createClient({ baseUrl: gatehouse.url });
    await assert.rejects(client.requestMagicLink('not an address'), (err: unknown) => err instanceof GatehouseError && err.code === 'validation_failed');
  });
});
