// The example API as a user would run it: the built @gatehouse/verify package (through its exports map)
// against a real Gatehouse on loopback.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createVerifier } from '@gatehouse/verify';
import { createApp } from '../app.js';

const PASSWORD = 'correct horse battery staple';
let gatehouse;
let gatehouseUrl;
let api;
let apiUrl;
let createUser;

before(async () => {
  const { startTestServer } = await import(new URL('../../../packages/gatehouse/test/helpers/app.ts', import.meta.url).href);
  ({ createUser } = await import(new URL('../../../packages/gatehouse/src/users/service.ts', import.meta.url).href));
  gatehouse = await startTestServer({ env: { ROLES: 'manager', LOG_LEVEL: 'warn' } });
  await gatehouse.app.listen({ port: 0, host: '127.0.0.1' });
  gatehouseUrl = `http://127.0.0.1:${gatehouse.app.server.address().port}`;
  const issuer = gatehouse.config.publicUrl;
  const verifier = createVerifier({ issuer, audience: issuer, jwksUrl: `${gatehouseUrl}/.well-known/jwks.json` });
  api = createApp(verifier).listen(0, '127.0.0.1');
  await new Promise((resolve) => api.once('listening', resolve));
  apiUrl = `http://127.0.0.1:${api.address().port}`;
});
after(async () => {
  api?.close();
  await gatehouse?.close();
});

let n = 0;
async function tokenFor(role) {
  n += 1;
  const email = `example-${role}-${n}.${process.pid}@example.com`;
  await createUser(gatehouse.runtime.ctx, { email, password: PASSWORD, role, emailVerified: true });
  const res = await fetch(`${gatehouseUrl}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
  assert.equal(res.status, 200);
  return (await res.json()).accessToken;
}

async function call(method, path, token) {
  const res = await fetch(`${apiUrl}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

it('serves the public route to anyone', async () => {
  assert.equal((await call('GET', '/')).status, 200);
});

it('answers each protected route by role: 401 without a token, 403 for a wrong role, 2xx otherwise', async () => {
  const user = await tokenFor('user');
  const manager = await tokenFor('manager');
  const admin = await tokenFor('admin');
  const expectations = [
    ['GET', '/profile', undefined, 401, 'authentication_required'],
    ['GET', '/profile', user, 200],
    ['GET', '/api/reports', user, 403, 'forbidden'],
    ['GET', '/api/reports', manager, 200],
    ['GET', '/api/reports', admin, 200],
    ['DELETE', '/api/users/42', manager, 403, 'forbidden'],
    ['DELETE', '/api/users/42', admin, 204],
    ['DELETE', '/api/users/42', 'not.a.token', 401, 'invalid_token'],
  ];
  for (const [method, path, token, status, code] of expectations) {
    const res = await call(method, path, token);
    assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(res.body)}`);
    if (code) assert.equal(res.body.error.code, code);
  }
  const profile = await call('GET', '/profile', user);
  assert.equal(profile.body.role, 'user');
});
