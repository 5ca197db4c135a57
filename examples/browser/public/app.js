// Cookie mode: the access token lives in memory only; the refresh token in Gatehouse's HttpOnly cookie, so
// a reload resumes the session through client.refresh() and no script can read the refresh token.
// Passkeys: the client runs the browser's WebAuthn ceremonies through @simplewebauthn/browser, given to it as
// the `webauthn` option (the client itself has no dependencies).
import { createClient, GatehouseError } from '/vendor/gatehouse-client/index.js';
import * as webauthn from '/vendor/simplewebauthn-browser/index.js';

const client = createClient({ baseUrl: location.origin, mode: 'cookie', webauthn });
const $ = (id) => document.getElementById(id);
const show = (value) => ($('output').textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2));
const problem = (err) => (err instanceof GatehouseError ? { code: err.code, message: err.message, details: err.details } : `${err?.name ?? 'Error'}: ${err?.message ?? err}`);

// WebAuthn refuses an IP address as the relying party id: a page opened at http://127.0.0.1 can use no
// passkey, so the buttons show only where the browser has WebAuthn and the page was opened at a host name
// (localhost, or the domain Gatehouse's PUBLIC_URL / WEBAUTHN_ORIGINS name).
const passkeys = webauthn.browserSupportsWebAuthn() && !/^\d+\.\d+\.\d+\.\d+$|^\[|:/.test(location.hostname);

// The e-mail a magic link was asked for, kept until its code is entered.
let magicEmail = null;

function render() {
  $('signin').hidden = client.isAuthenticated;
  $('magic').hidden = client.isAuthenticated;
  $('magic-code').hidden = client.isAuthenticated || !magicEmail;
  $('signedin').hidden = !client.isAuthenticated;
  $('passkey-signin').hidden = client.isAuthenticated || !passkeys;
  $('passkey-add').hidden = !passkeys;
  $('status').textContent = client.isAuthenticated ? `Signed in as ${client.user?.email ?? 'you'}` : 'Signed out';
}

client.onSessionEnded(({ reason }) => {
  render();
  show(`Session ended: ${reason}`);
});

$('signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const input = { email: form.get('email'), password: form.get('password') };
  try {
    await (event.submitter?.value === 'register' ? client.register(input) : client.login(input));
    render();
    show({ user: client.user });
  } catch (err) {
    show(problem(err));
  }
});

// "E-mail me a link": Gatehouse answers 202 whatever the address, and mails a link and a 6-digit code. The
// link opens Gatehouse's own page; here the user types the code, which signs in in this page's mode.
$('magic').addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = new FormData(event.target).get('magic_email');
  try {
    await client.requestMagicLink(email);
    magicEmail = email;
    render();
    show(`If ${email} has an account, a sign-in link and code are on their way.`);
  } catch (err) {
    show(problem(err));
  }
});

$('magic-code').addEventListener('submit', async (event) => {
  event.preventDefault();
  const code = String(new FormData(event.target).get('code')).trim();
  try {
    const result = await client.verifyMagicLink({ email: magicEmail, code });
    if (result && 'mfaRequired' in result) {
      show('This account has a second factor: this example does not ask for it yet.');
      return;
    }
    magicEmail = null;
    event.target.reset();
    render();
    show({ user: client.user });
  } catch (err) {
    show(problem(err));
  }
});

// A passkey with user verification (fingerprint, face, PIN) signs in alone, usernameless: the browser offers
// the passkeys it holds for this site. One without (a plain security key) answers the second-factor challenge.
$('passkey-login').addEventListener('click', async () => {
  try {
    const result = await client.signInWithPasskey();
    if ('mfaRequired' in result) {
      show('This passkey did not verify you (no PIN or biometrics), so a second step is needed: this example does not ask for it yet.');
      return;
    }
    render();
    show({ user: client.user });
  } catch (err) {
    show(problem(err));
  }
});

// Adding a passkey needs a recent sign-in (REAUTH_MAX_AGE, 10 minutes by default). The account's first
// second factor comes with its recovery codes, shown once.
$('passkey-add').addEventListener('click', async () => {
  try {
    const added = await client.registerPasskey({ name: 'Example passkey' });
    show(added.recoveryCodes ? { passkey: added.name, recoveryCodes: added.recoveryCodes, note: 'Keep the recovery codes somewhere safe: they are not shown again.' } : { passkey: added.name });
  } catch (err) {
    if (err instanceof GatehouseError && err.code === 'reauthentication_required') {
      show('Adding a passkey needs a recent sign-in: log out, log in again, then add it.');
      return;
    }
    show(problem(err));
  }
});

for (const [id, path] of [['me', '/auth/me'], ['sessions', '/auth/sessions']]) {
  $(id).addEventListener('click', async () => {
    const res = await client.fetch(path);
    show(await res.json());
  });
}

$('logout').addEventListener('click', () => client.logout());

try {
  await client.refresh();
} catch (err) {
  show(String(err));
}
render();
