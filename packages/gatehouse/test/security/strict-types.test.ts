// Attack catalogue: type confusion. A JSON body is taken as typed (CONTRACT, Limits): an array, a boolean, a
// number or null where a string is expected, and a body that is not an object at all, are 400
// validation_failed on the real routes, and change nothing. Only query strings and path parameters, which are
// text by nature, are coerced. Each detail names one field the client sent or must send, once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser } from '../../src/users/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';

let server: TestServer;
let user: { email: string; id: string; token: string };
let adminToken: string;

function detailsOf(body: string): Array<{ field: string; message: string }> {
  return JSON.parse(body).error.details ?? [];
}

before(async () => {
  server = await startTestServer();
  const registered = await registerUser(server.app, { name: 'Ada' });
  user = { email: registered.email, id: registered.body.user.id, token: registered.body.accessToken };
  const adminEmail = uniqueEmail('admin');
  await createUser(server.runtime.ctx, { email: adminEmail, password: PASSWORD, role: 'admin', emailVerified: true } as never);
  adminToken = (await login(server.app, adminEmail)).body.accessToken;
});

after(() => server.close());

describe('JSON values are not coerced', () => {
  it('a password sent as an array does not sign in', async () => {
    const res = await call(server.app, 'POST', '/auth/login', { body: { email: user.email, password: [PASSWORD] } });
    expectError(res, 400, 'validation_failed');
    assert.deepEqual(detailsOf(res.body), [{ field: 'password', message: 'must be string' }]);
  });

  it('an e-mail sent as an array does not sign in either', async () => {
    const res = await call(server.app, 'POST', '/auth/login', { body: { email: [user.email], password: PASSWORD } });
    expectError(res, 400, 'validation_failed');
    assert.deepEqual(detailsOf(res.body).map((d) => d.field), ['email']);
  });

  it('PATCH /auth/me with name false is refused and stores nothing', async () => {
    const res = await call(server.app, 'PATCH', '/auth/me', { token: user.token, body: { name: false } });
    expectError(res, 400, 'validation_failed');
    assert.deepEqual(detailsOf(res.body), [{ field: 'name', message: 'must be string' }]);
    const me = await call(server.app, 'GET', '/auth/me', { token: user.token });
    assert.equal(me.json().user.name, 'Ada');
  });

  it('PATCH /auth/me with a number for the name is refused', async () => {
    const res = await call(server.app, 'PATCH', '/auth/me', { token: user.token, body: { name: 42 } });
    expectError(res, 400, 'validation_failed');
  });

  it('forgot-password with email null is 400, not 202', async () => {
    const res = await call(server.app, 'POST', '/auth/forgot-password', { body: { email: null } });
    expectError(res, 400, 'validation_failed');
    assert.deepEqual(detailsOf(res.body).map((d) => d.field), ['email']);
  });

  it('an admin PATCH with a string for a boolean is refused and changes nothing', async () => {
    const res = await call(server.app, 'PATCH', `/admin/users/${user.id}`, { token: adminToken, body: { disabled: 'true' } });
    expectError(res, 400, 'validation_failed');
    assert.deepEqual(detailsOf(res.body), [{ field: 'disabled', message: 'must be boolean' }]);
    const me = await call(server.app, 'GET', '/auth/me', { token: user.token });
    assert.equal(me.statusCode, 200, 'the account is still enabled');
  });

  it('query strings are still coerced to their schema types', async () => {
    const res = await call(server.app, 'GET', '/admin/users?limit=1', { token: adminToken });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().users.length, 1);
    expectError(await call(server.app, 'GET', '/admin/users?limit=many', { token: adminToken }), 400, 'validation_failed');
  });
});

describe('a body that is not an object where an object is expected', () => {
  for (const raw of ['null', '[]', '[{"email":"a@example.com"}]', '5', '"text"', 'true']) {
    it(`admin PATCH with ${raw} is 400, not a no-op 200`, async () => {
      const res = await call(server.app, 'PATCH', `/admin/users/${user.id}`, { token: adminToken, body: raw });
      expectError(res, 400, 'validation_failed');
      assert.deepEqual(detailsOf(res.body), [{ field: 'body', message: 'must be object' }]);
    });

    it(`login with ${raw} is 400 validation_failed`, async () => {
      const res = await call(server.app, 'POST', '/auth/login', { body: raw });
      expectError(res, 400, 'validation_failed');
    });
  }

  it('forgot-password with a null body is 400', async () => {
    expectError(await call(server.app, 'POST', '/auth/forgot-password', { body: 'null' }), 400, 'validation_failed');
  });

  it('an absent body is still an empty object: required fields are named, optional bodies work', async () => {
    const res = await call(server.app, 'POST', '/auth/login', { headers: { 'content-type': 'application/json' } });
    expectError(res, 400, 'validation_failed');
    assert.deepEqual(detailsOf(res.body).map((d) => d.field).sort(), ['email', 'password']);
    const empty = await call(server.app, 'POST', '/auth/refresh', { body: '' });
    expectError(empty, 401, 'invalid_refresh_token');
    const patched = await call(server.app, 'PATCH', `/admin/users/${user.id}`, { token: adminToken });
    assert.equal(patched.statusCode, 200, patched.body);
  });
});

describe('validation details', () => {
  it('name each field once, even for a union', async () => {
    const res = await call(server.app, 'POST', '/auth/login', { body: { email: user.email, password: PASSWORD, mode: 5 } });
    expectError(res, 400, 'validation_failed');
    assert.deepEqual(detailsOf(res.body), [{ field: 'mode', message: 'must be one of "token", "cookie", "session"' }]);
  });

  it('report every wrong field, each once', async () => {
    const res = await call(server.app, 'POST', '/auth/register', { body: { email: 1, password: ['a', 'b'], name: {}, mode: ['token'] } });
    expectError(res, 400, 'validation_failed');
    const fields = detailsOf(res.body).map((d) => d.field);
    assert.deepEqual([...fields].sort(), ['email', 'mode', 'name', 'password']);
  });

  it('name a property the client sent that is not allowed', async () => {
    const res = await call(server.app, 'PATCH', `/admin/users/${user.id}`, { token: adminToken, body: { role: 'user', passwordHash: 'x' } });
    expectError(res, 400, 'validation_failed');
    assert.deepEqual(detailsOf(res.body), [{ field: 'passwordHash', message: 'is not allowed' }]);
  });
});
