// Roles, the role guard and the admin users API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser } from '../../src/users/service.ts';
import { PASSWORD, call, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';

let server: TestServer;
let admin: { token: string; id: string };

before(async () => {
  server = await startTestServer({ env: { ROLES: 'manager,moderator' } });
  const email = uniqueEmail('admin');
  await createUser(server.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true });
  const { body } = await login(server.app, email);
  admin = { token: body.accessToken, id: body.user.id };
});
after(() => server.close());

describe('role guard', () => {
  it('answers 401 without a token and 403 forbidden for a non-admin', async () => {
    const { body } = await registerUser(server.app);
    expectError(await call(server.app, 'GET', '/admin/users'), 401, 'authentication_required');
    expectError(await call(server.app, 'GET', '/admin/users', { token: body.accessToken }), 403, 'forbidden');
    expectError(await call(server.app, 'PATCH', `/admin/users/${body.user.id}`, { token: body.accessToken, body: { role: 'admin' } }), 403, 'forbidden');
    assert.equal((await server.runtime.ctx.users.findById(body.user.id))!.role, 'user');
  });
});

describe('admin users API', () => {
  it('lists users with a cursor and searches them', async () => {
    const tag = `page${Date.now()}`;
    for (let i = 0; i < 5; i++) await registerUser(server.app, { email: uniqueEmail(tag), name: `Paged ${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(server.app, 'GET', `/admin/users?q=${tag}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin.token });
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json();
      assert.ok(page.users.length <= 2);
      seen.push(...page.users.map((u: { email: string }) => u.email));
      cursor = page.nextCursor;
    } while (cursor);
    assert.equal(seen.length, 5);
    assert.equal(new Set(seen).size, 5);
    for (const u of seen) assert.ok(u.startsWith(tag));
    expectError(await call(server.app, 'GET', '/admin/users?limit=0', { token: admin.token }), 400, 'validation_failed');
    expectError(await call(server.app, 'GET', '/admin/users?limit=abc', { token: admin.token }), 400, 'validation_failed');
    expectError(await call(server.app, 'GET', '/admin/users?cursor=%%%', { token: admin.token }), 400, 'validation_failed');
    const all = (await call(server.app, 'GET', '/admin/users?q=%25', { token: admin.token })).json();
    assert.equal(all.users.length, 0, 'a % in q is a literal, not a wildcard');
  });

  it('gets a user, 404 for unknown ids', async () => {
    const { body } = await registerUser(server.app);
    const res = await call(server.app, 'GET', `/admin/users/${body.user.id}`, { token: admin.token });
    assert.equal(res.json().user.email, body.user.email);
    expectError(await call(server.app, 'GET', '/admin/users/00000000-0000-7000-8000-000000000000', { token: admin.token }), 404, 'not_found');
    expectError(await call(server.app, 'GET', '/admin/users/garbage', { token: admin.token }), 404, 'not_found');
  });

  it('changes the role, which revokes the user\'s tokens at once', async () => {
    const { body } = await registerUser(server.app);
    const res = await call(server.app, 'PATCH', `/admin/users/${body.user.id}`, { token: admin.token, body: { role: 'manager' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().user.role, 'manager');
    expectError(await call(server.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'token_revoked');
    expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } }), 401, 'invalid_refresh_token');
    const again = await login(server.app, body.user.email);
    assert.equal(again.body.user.role, 'manager');
    expectError(await call(server.app, 'PATCH', `/admin/users/${body.user.id}`, { token: admin.token, body: { role: 'emperor' } }), 400, 'validation_failed');
  });

  it('disables and re-enables a user; disabling revokes everything', async () => {
    const { body } = await registerUser(server.app, { mode: 'token' });
    const session = await registerUser(server.app, { mode: 'session' });
    for (const target of [body.user.id, session.body.user.id]) {
      const res = await call(server.app, 'PATCH', `/admin/users/${target}`, { token: admin.token, body: { disabled: true } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().user.disabled, true, 'the answer shows the account disabled');
      assert.ok(Date.parse(res.json().user.disabledAt) > 0);
    }
    const shown = (await call(server.app, 'GET', `/admin/users/${body.user.id}`, { token: admin.token })).json().user;
    assert.equal(shown.disabled, true);
    const listed = (await call(server.app, 'GET', `/admin/users?q=${encodeURIComponent(body.user.email)}`, { token: admin.token })).json().users;
    assert.deepEqual(listed.map((u: { disabled: boolean }) => u.disabled), [true], 'the list shows it too');
    expectError(await call(server.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'token_revoked');
    expectError(await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: session.cookies.gh_session!.value } }), 401, 'token_revoked');
    expectError(await call(server.app, 'POST', '/auth/login', { body: { email: body.user.email, password: PASSWORD } }), 403, 'account_disabled');
    const enabled = (await call(server.app, 'PATCH', `/admin/users/${body.user.id}`, { token: admin.token, body: { disabled: false } })).json().user;
    assert.deepEqual([enabled.disabled, enabled.disabledAt], [false, null]);
    await login(server.app, body.user.email);
  });

  it('sets name and emailVerified, and refuses unknown fields without changing anything', async () => {
    const { body } = await registerUser(server.app);
    const res = await call(server.app, 'PATCH', `/admin/users/${body.user.id}`, { token: admin.token, body: { name: 'Renamed', emailVerified: true } });
    assert.equal(res.json().user.name, 'Renamed');
    assert.equal(res.json().user.emailVerified, true);
    const bad = await call(server.app, 'PATCH', `/admin/users/${body.user.id}`, { token: admin.token, body: { name: 'Other', passwordHash: 'x' } });
    expectError(bad, 400, 'validation_failed');
    assert.equal((await server.runtime.ctx.users.findById(body.user.id))!.name, 'Renamed');
    // The user's own session survives a name change.
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: body.accessToken })).statusCode, 200);
  });

  it('deletes a user: their tokens stop, the id is gone', async () => {
    const { body } = await registerUser(server.app);
    assert.equal((await call(server.app, 'DELETE', `/admin/users/${body.user.id}`, { token: admin.token })).statusCode, 204);
    expectError(await call(server.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'token_revoked');
    expectError(await call(server.app, 'GET', `/admin/users/${body.user.id}`, { token: admin.token }), 404, 'not_found');
    expectError(await call(server.app, 'DELETE', `/admin/users/${body.user.id}`, { token: admin.token }), 404, 'not_found');
  });

  it('never removes the last enabled admin', async () => {
    expectError(await call(server.app, 'PATCH', `/admin/users/${admin.id}`, { token: admin.token, body: { role: 'user' } }), 409, 'conflict');
    expectError(await call(server.app, 'DELETE', `/admin/users/${admin.id}`, { token: admin.token }), 409, 'conflict');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: admin.token })).json().user.role, 'admin');
  });
});
