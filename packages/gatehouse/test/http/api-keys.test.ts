// API keys, token introspection and the audit log.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/random.ts';
import { createUser } from '../../src/users/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';

let server: TestServer;
let admin: { token: string; id: string; session: string };
const start = Date.UTC(2026, 0, 1);

before(async () => {
  server = await startTestServer({ fakeClock: start });
  const email = uniqueEmail('admin');
  await createUser(server.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true });
  const { body } = await login(server.app, email);
  // The fake clock runs far past an access token's life in these tests; an admin's API key does not expire.
  const key = await call(server.app, 'POST', '/auth/api-keys', { token: body.accessToken, body: { name: 'admin tests' } });
  admin = { token: key.json().key, id: body.user.id, session: body.accessToken };
});
after(() => server.close());

async function createKey(token: string, body: Record<string, unknown> = { name: 'ci deploy' }) {
  const res = await call(server.app, 'POST', '/auth/api-keys', { token, body });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

describe('API keys', () => {
  it('is shown once, stored hashed, listed without the secret, and works as Bearer or X-API-Key', async () => {
    const { body } = await registerUser(server.app);
    const key = await createKey(body.accessToken, { name: ' reporting ', scopes: ['read:reports'] });
    assert.match(key.key, /^gh_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(key.name, 'reporting');
    assert.deepEqual(key.scopes, ['read:reports']);
    assert.equal(key.key.split('_')[1], key.prefix);
    const row = await server.runtime.database.db.selectFrom('api_keys').selectAll().where('id', '=', key.id).executeTakeFirstOrThrow();
    assert.equal(row.hash, sha256(key.key));
    // The secret is everything after gh_<prefix>_ (it may itself contain "_", so not split('_')[2]).
    const secret = key.key.slice(`gh_${key.prefix}_`.length);
    assert.equal(secret.length, 43);
    assert.ok(!JSON.stringify(row).includes(secret), 'the secret is not stored');

    const list = (await call(server.app, 'GET', '/auth/api-keys', { token: body.accessToken })).json();
    assert.equal(list.apiKeys.length, 1);
    assert.equal(list.apiKeys[0].key, undefined);
    assert.equal(list.apiKeys[0].lastUsedAt, null);

    const viaBearer = await call(server.app, 'GET', '/auth/me', { token: key.key });
    assert.equal(viaBearer.statusCode, 200);
    assert.equal(viaBearer.json().user.id, body.user.id);
    const viaHeader = await call(server.app, 'GET', '/auth/me', { headers: { 'x-api-key': key.key } });
    assert.equal(viaHeader.statusCode, 200);
    const after = (await call(server.app, 'GET', '/auth/api-keys', { token: body.accessToken })).json();
    assert.ok(after.apiKeys[0].lastUsedAt, 'last use is recorded');
  });

  it('refuses forged, revoked and expired keys alike; a key cannot manage keys or sessions', async () => {
    const { body } = await registerUser(server.app);
    const key = await createKey(body.accessToken, { name: 'short-lived', expiresAt: new Date(start + 3_600_000 * 24 * 365).toISOString() });
    const forged = key.key.slice(0, -4) + 'AAAA';
    expectError(await call(server.app, 'GET', '/auth/me', { token: forged }), 401, 'invalid_token');
    expectError(await call(server.app, 'GET', '/auth/me', { headers: { 'x-api-key': 'gh_nope' } }), 401, 'invalid_token');

    expectError(await call(server.app, 'POST', '/auth/api-keys', { token: key.key, body: { name: 'escalate' } }), 403, 'forbidden');
    expectError(await call(server.app, 'GET', '/auth/api-keys', { token: key.key }), 403, 'forbidden');
    expectError(await call(server.app, 'GET', '/auth/sessions', { token: key.key }), 403, 'forbidden');
    expectError(await call(server.app, 'POST', '/auth/logout-all', { token: key.key }), 403, 'forbidden');

    const expiring = await createKey(body.accessToken, { name: 'expiring', expiresAt: new Date(start + 60_000 + 1).toISOString() });
    server.clock!.advance(120_000);
    expectError(await call(server.app, 'GET', '/auth/me', { token: expiring.key }), 401, 'invalid_token');

    assert.equal((await call(server.app, 'DELETE', `/auth/api-keys/${key.id}`, { token: body.accessToken })).statusCode, 204);
    expectError(await call(server.app, 'GET', '/auth/me', { token: key.key }), 401, 'invalid_token');
    expectError(await call(server.app, 'DELETE', `/auth/api-keys/${key.id}`, { token: body.accessToken }), 404, 'not_found');
  });

  it('validates input and keeps keys per user', async () => {
    const { body } = await registerUser(server.app);
    const other = await registerUser(server.app);
    for (const bad of [{}, { name: '' }, { name: 'x', scopes: ['Bad Scope'] }, { name: 'x', expiresAt: 'tomorrow' }, { name: 'x', expiresAt: new Date(start - 1000).toISOString() }]) {
      expectError(await call(server.app, 'POST', '/auth/api-keys', { token: body.accessToken, body: bad }), 400, 'validation_failed');
    }
    const key = await createKey(body.accessToken);
    expectError(await call(server.app, 'DELETE', `/auth/api-keys/${key.id}`, { token: other.body.accessToken }), 404, 'not_found');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: key.key })).statusCode, 200);
  });

  it('dies with its owner: disabling or deleting the user kills their keys', async () => {
    const a = await registerUser(server.app);
    const b = await registerUser(server.app);
    const keyA = await createKey(a.body.accessToken);
    const keyB = await createKey(b.body.accessToken);
    await call(server.app, 'PATCH', `/admin/users/${a.body.user.id}`, { token: admin.token, body: { disabled: true } });
    expectError(await call(server.app, 'GET', '/auth/me', { token: keyA.key }), 401, 'invalid_token');
    await call(server.app, 'DELETE', `/admin/users/${b.body.user.id}`, { token: admin.token });
    expectError(await call(server.app, 'GET', '/auth/me', { token: keyB.key }), 401, 'invalid_token');
  });

  it("an admin's key can use the admin API; a user's key cannot", async () => {
    assert.equal((await call(server.app, 'GET', '/admin/users', { token: admin.token })).statusCode, 200);
    const { body } = await registerUser(server.app);
    const userKey = await createKey(body.accessToken);
    expectError(await call(server.app, 'GET', '/admin/users', { token: userKey.key }), 403, 'forbidden');
  });
});

describe('introspection', () => {
  it('reports live tokens and keys as active, and everything else as inactive, indistinguishably', async () => {
    const { email, body } = await registerUser(server.app);
    const introspector = await createKey(admin.session, { name: 'gateway', scopes: ['introspect'] });
    const ask = (token: string, as = introspector.key) => call(server.app, 'POST', '/auth/introspect', { token: as, body: { token } });

    const live = (await ask(body.accessToken)).json();
    assert.equal(live.active, true);
    assert.equal(live.sub, body.user.id);
    assert.equal(live.token_type, 'access_token');
    assert.ok(live.sid && live.exp && live.role);

    const keyInfo = (await ask(introspector.key)).json();
    assert.equal(keyInfo.active, true);
    assert.equal(keyInfo.token_type, 'api_key');
    assert.equal(keyInfo.scope, 'introspect');

    const other = await login(server.app, email);
    await call(server.app, 'POST', '/auth/logout', { token: other.body.accessToken });
    const [h, p] = body.accessToken.split('.');
    const inactive = [other.body.accessToken, `${h}.${p}.AAAA`, 'garbage', '', body.refreshToken, 'gh_000000000000_' + 'A'.repeat(43)];
    const answers = await Promise.all(inactive.map(async (t) => (await ask(t)).body));
    for (const answer of answers) assert.equal(answer, '{"active":false}');

    // RFC 7662's own form encoding works too.
    const form = await server.app.inject({ method: 'POST', url: '/auth/introspect', headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${body.accessToken}` });
    assert.equal(form.json().active, true);

    server.clock!.advance(16 * 60_000);
    assert.equal((await ask(body.accessToken)).body, '{"active":false}', 'expired');
  });

  it('is for admins only: a user can neither introspect nor grant a key the introspect scope', async () => {
    const { body } = await registerUser(server.app);
    const plainKey = await createKey(body.accessToken);
    expectError(await call(server.app, 'POST', '/auth/api-keys', { token: body.accessToken, body: { name: 'spy', scopes: ['introspect'] } }), 403, 'forbidden');
    const keys = (await call(server.app, 'GET', '/auth/api-keys', { token: body.accessToken })).json().apiKeys;
    assert.deepEqual(keys.map((k: { name: string }) => k.name), ['ci deploy'], 'the refused key was not made');
    expectError(await call(server.app, 'POST', '/auth/introspect', { token: body.accessToken, body: { token: body.accessToken } }), 403, 'forbidden');
    expectError(await call(server.app, 'POST', '/auth/introspect', { token: plainKey.key, body: { token: body.accessToken } }), 403, 'forbidden');
    expectError(await call(server.app, 'POST', '/auth/introspect', { body: { token: body.accessToken } }), 401, 'authentication_required');
    assert.equal((await call(server.app, 'POST', '/auth/introspect', { token: admin.token, body: { token: body.accessToken } })).json().active, true);
  });

  it("stops with the owner's admin role", async () => {
    const email = uniqueEmail('ex-admin');
    const exAdmin = await createUser(server.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true });
    const key = await createKey((await login(server.app, email)).body.accessToken, { name: 'gateway', scopes: ['introspect'] });
    const { body } = await registerUser(server.app);
    assert.equal((await call(server.app, 'POST', '/auth/introspect', { token: key.key, body: { token: body.accessToken } })).json().active, true);
    await call(server.app, 'PATCH', `/admin/users/${exAdmin.id}`, { token: admin.token, body: { role: 'user' } });
    expectError(await call(server.app, 'POST', '/auth/introspect', { token: key.key, body: { token: body.accessToken } }), 403, 'forbidden');
  });
});

describe('audit log', () => {
  it('records the security events with time, user, IP, agent and session, and no secret', async () => {
    const email = uniqueEmail('audited');
    const reg = await call(server.app, 'POST', '/auth/register', { body: { email, password: PASSWORD }, headers: { 'user-agent': 'audit-agent/1' }, ip: '10.20.30.40' });
    const { user, accessToken, refreshToken } = reg.json();
    await call(server.app, 'POST', '/auth/login', { body: { email, password: 'wrong password!' } });
    const ok = await login(server.app, email);
    await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken } });
    server.clock!.advance(11_000);
    await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken } });
    await call(server.app, 'POST', '/auth/password', { token: ok.body.accessToken, body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' } });
    await call(server.app, 'PATCH', `/admin/users/${user.id}`, { token: admin.token, body: { role: 'admin' } });
    await call(server.app, 'PATCH', `/admin/users/${user.id}`, { token: admin.token, body: { disabled: true } });

    const res = await call(server.app, 'GET', `/admin/audit?userId=${user.id}&limit=100`, { token: admin.token });
    assert.equal(res.statusCode, 200, res.body);
    const events = res.json().events as Array<{ type: string; ip: string; userAgent: string; sessionId: string; at: string; detail: Record<string, unknown> }>;
    const types = events.map((e) => e.type);
    for (const t of ['register', 'login_failed', 'login_ok', 'refresh_reuse_detected', 'password_changed', 'role_changed', 'user_disabled']) assert.ok(types.includes(t), `${t} in ${types}`);
    const registered = events.find((e) => e.type === 'register')!;
    assert.equal(registered.ip, '10.20.30.40');
    assert.equal(registered.userAgent, 'audit-agent/1');
    assert.ok(registered.sessionId);
    assert.ok(!Number.isNaN(Date.parse(registered.at)));
    assert.equal(events.find((e) => e.type === 'login_failed')!.detail.reason, 'wrong_password');
    assert.equal(events.find((e) => e.type === 'role_changed')!.detail.to, 'admin');

    const everything = JSON.stringify(await server.runtime.database.db.selectFrom('audit_events').selectAll().execute());
    for (const secret of [PASSWORD, 'a brand new passphrase', accessToken, refreshToken, 'wrong password!']) assert.ok(!everything.includes(secret));
  });

  it('filters by type and pages with a cursor; admins only', async () => {
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(server.app, 'GET', `/admin/audit?type=register&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin.token });
      const page = res.json();
      for (const e of page.events) {
        assert.equal(e.type, 'register');
        assert.ok(!seen.has(e.id));
        seen.add(e.id);
      }
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 50);
    assert.ok(seen.size >= 3);
    expectError(await call(server.app, 'GET', '/admin/audit?type=made_up', { token: admin.token }), 400, 'validation_failed');
    const { body } = await registerUser(server.app);
    expectError(await call(server.app, 'GET', '/admin/audit', { token: body.accessToken }), 403, 'forbidden');
  });

  it('prunes events older than AUDIT_RETENTION', async () => {
    const { pruneEvents } = await import('../../src/audit/service.ts');
    const before = await server.runtime.database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.ok(Number(before.n) > 0);
    server.clock!.advance(91 * 86_400_000);
    await registerUser(server.app);
    assert.ok((await pruneEvents(server.runtime.ctx)) >= Number(before.n));
    const left = await server.runtime.database.db.selectFrom('audit_events').select('type').execute();
    assert.ok(left.every((e) => e.type === 'register'), 'only the fresh event is left');
  });
});
