// Cookie mode: the access token lives in memory only; the refresh token in Gatehouse's HttpOnly cookie, so
// a reload resumes the session through client.refresh() and no script can read the refresh token.
import { createClient, GatehouseError } from '/vendor/gatehouse-client/index.js';

const client = createClient({ baseUrl: location.origin, mode: 'cookie' });
const $ = (id) => document.getElementById(id);
const show = (value) => ($('output').textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2));

function render() {
  $('signin').hidden = client.isAuthenticated;
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
