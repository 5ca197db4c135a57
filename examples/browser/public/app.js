// Cookie mode: the access token lives in memory only; the refresh token in Gatehouse's HttpOnly cookie, so
// a reload resumes the session through client.refresh() and no script can read the refresh token.
import { createClient, GatehouseError } from '/vendor/gatehouse-client/index.js';

const client = createClient({ baseUrl: location.origin, mode: 'cookie' });
const $ = (id) => document.getElementById(id);
const show = (value) => ($('output').textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2));

// The e-mail a magic link was asked for, kept until its code is entered.
let magicEmail = null;

function render() {
  $('signin').hidden = client.isAuthenticated;
  $('magic').hidden = client.isAuthenticated;
  $('magic-code').hidden = client.isAuthenticated || !magicEmail;
  $('signedin').hidden = !client.isAuthenticated;
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
    show(err instanceof GatehouseError ? { code: err.code, message: err.message, details: err.details } : String(err));
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
    show(err instanceof GatehouseError ? { code: err.code, message: err.message, details: err.details } : String(err));
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
    show(err instanceof GatehouseError ? { code: err.code, message: err.message, details: err.details } : String(err));
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
