// A full lifecycle's logs never contain a password, a token, a cookie or a CSRF token.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { call, csrf, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer({ env: { LOG_LEVEL: 'trace' } });
});
after(() => server.close());

it('redacts every secret from the JSON logs', async () => {
  const password = 'Unforgettable-Passphrase-7731';
  const email = uniqueEmail();
  const secrets: string[] = [password];
  const reg = await registerUser(server.app, { email, password });
  secrets.push(reg.body.accessToken, reg.body.refreshToken);
  await call(server.app, 'POST', '/auth/login', { body: { email, password: `${password}-wrong` } });
  const refreshed = (await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: reg.body.refreshToken } })).json();
  secrets.push(refreshed.accessToken, refreshed.refreshToken);
  await call(server.app, 'GET', '/auth/me', { token: refreshed.accessToken });
  await call(server.app, 'GET', `/auth/me?token=${refreshed.refreshToken}`, { token: refreshed.accessToken });
  await call(server.app, 'POST', '/auth/password', { token: refreshed.accessToken, body: { currentPassword: password, newPassword: `${password}-new` } });
  secrets.push(`${password}-new`);
  const session = await login(server.app, email, `${password}-new`, 'session');
  const { token, cookie } = await csrf(server.app);
  secrets.push(session.cookies.gh_session!.value, token, cookie);
  await call(server.app, 'POST', '/auth/logout', { cookies: { gh_session: session.cookies.gh_session!.value, gh_csrf: cookie }, headers: { 'x-csrf-token': token } });
  await call(server.app, 'POST', '/auth/login', { body: `{"email":"${email}","password":"${password}"` });

  const text = server.logs.join('');
  assert.ok(server.logs.filter((line) => line.includes('request completed')).length >= 8, 'every request was logged');
  for (const line of server.logs) JSON.parse(line);
  for (const secret of secrets) assert.ok(!text.includes(secret), `a secret reached the logs: ${secret.slice(0, 8)}…`);
  assert.ok(!text.includes('/auth/me?token='), 'query strings are dropped from logged URLs');
});
