// An account with a row in every table that can hold one: sessions in each mode (one refresh token rotated),
// a confirmed authenticator app and its recovery codes, an API key, a linked social identity, a pending e-mail
// change and a verification link. The export and erasure suites run against it.
import assert from 'node:assert/strict';
import { codeAt } from '../../src/methods/totp/totp.ts';
import type { TestServer } from './app.ts';
import { call, cookiesOf, login, registerUser, uniqueEmail } from './http.ts';

export interface FullAccount {
  id: string;
  email: string;
  /** An access token of a session that passed step-up just now. */
  accessToken: string;
  /** Every secret handed to the client: tokens, cookies, the API key, the TOTP secret, recovery codes. */
  secrets: string[];
}

export async function fullAccount(server: TestServer, now: () => number): Promise<FullAccount> {
  const { email, body } = await registerUser(server.app, { name: 'Full Account' });
  const secrets: string[] = [body.accessToken, body.refreshToken];
  const rotated = await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } });
  assert.equal(rotated.statusCode, 200, rotated.body);
  secrets.push(rotated.json().accessToken, rotated.json().refreshToken);
  const session = await login(server.app, email, undefined, 'session');
  secrets.push(...Object.values(session.cookies).map((c) => c.value));
  const cookie = await login(server.app, email, undefined, 'cookie');
  secrets.push(cookie.body.accessToken, ...Object.values(cookie.cookies).map((c) => c.value));

  const key = await call(server.app, 'POST', '/auth/api-keys', { token: body.accessToken, body: { name: 'export test' } });
  assert.equal(key.statusCode, 201, key.body);
  secrets.push(key.json().key);

  await server.runtime.ctx.identities.link({ provider: 'github', subject: `gh-${body.user.id}`, userId: body.user.id, email, emailVerified: true, createdAt: now() });
  const change = await call(server.app, 'POST', '/auth/email', { token: body.accessToken, body: { email: uniqueEmail('pending') } });
  assert.equal(change.statusCode, 202, change.body);
  assert.equal((await call(server.app, 'POST', '/auth/verify-email/resend', { token: body.accessToken, body: {} })).statusCode, 202);

  const started = await call(server.app, 'POST', '/auth/mfa/totp', { token: body.accessToken, body: { name: 'phone' } });
  assert.equal(started.statusCode, 201, started.body);
  const { id, secret } = started.json();
  const confirmed = await call(server.app, 'POST', `/auth/mfa/totp/${id}/confirm`, { token: body.accessToken, body: { code: codeAt(secret, now()) } });
  assert.equal(confirmed.statusCode, 200, confirmed.body);
  secrets.push(secret, ...(confirmed.json().recoveryCodes as string[]));
  await server.runtime.ctx.background.drain();
  return { id: body.user.id, email, accessToken: body.accessToken, secrets };
}
