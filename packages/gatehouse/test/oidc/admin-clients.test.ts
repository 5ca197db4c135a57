// /admin/clients: an admin registers, changes, rotates and deletes the provider's clients; others cannot.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser } from '../../src/users/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { call, expectError, login, PASSWORD, registerUser, uniqueEmail } from '../helpers/http.ts';

describe('/admin/clients', () => {
  let server: TestServer;
  let admin: string;
  before(async () => {
    server = await startTestServer();
    const email = uniqueEmail('admin');
    await createUser(server.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true });
    admin = (await login(server.app, email)).body.accessToken;
  });
  after(async () => {
    await server.close();
  });

  it('create answers the secret once; list, patch, rotate and delete work; the secret never shows again', async () => {
    const created = await call(server.app, 'POST', '/admin/clients', { token: admin, body: { name: 'Wiki', redirectUris: ['https://wiki.example/cb'], firstParty: true } });
    assert.equal(created.statusCode, 201, created.body);
    const { client, clientSecret } = created.json();
    assert.match(clientSecret, /^ghcs_/);
    assert.equal(client.public, false);
    const listed = await call(server.app, 'GET', '/admin/clients', { token: admin });
    assert.ok(listed.json().clients.some((c: { clientId: string }) => c.clientId === client.clientId));
    assert.ok(!listed.body.includes(clientSecret));
    const patched = await call(server.app, 'PATCH', `/admin/clients/${client.clientId}`, { token: admin, body: { redirectUris: ['https://wiki.example/cb2'] } });
    assert.deepEqual(patched.json().client.redirectUris, ['https://wiki.example/cb2']);
    const rotated = await call(server.app, 'POST', `/admin/clients/${client.clientId}/secret`, { token: admin });
    assert.notEqual(rotated.json().clientSecret, clientSecret);
    assert.equal((await call(server.app, 'DELETE', `/admin/clients/${client.clientId}`, { token: admin })).statusCode, 204);
    expectError(await call(server.app, 'DELETE', `/admin/clients/${client.clientId}`, { token: admin }), 404, 'not_found');
  });

  it('the allow-lists of APIs and API scopes: set at creation, replaced by PATCH, checked (400 validation_failed)', async () => {
    const created = await call(server.app, 'POST', '/admin/clients', {
      token: admin,
      body: { name: 'Orders worker', grants: ['client_credentials'], resources: ['https://orders.example.com'], scopes: ['orders:write orders:read', 'orders:read'] },
    });
    assert.equal(created.statusCode, 201, created.body);
    const { client } = created.json();
    assert.deepEqual(client.resources, ['https://orders.example.com']);
    assert.deepEqual(client.scopes, ['orders:read', 'orders:write'], 'deduplicated, space-separated values split');
    const patched = await call(server.app, 'PATCH', `/admin/clients/${client.clientId}`, { token: admin, body: { scopes: ['orders:read'] } });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual(patched.json().client.scopes, ['orders:read']);
    assert.deepEqual(patched.json().client.resources, ['https://orders.example.com'], 'what the PATCH does not name stays');
    const plain = await call(server.app, 'POST', '/admin/clients', { token: admin, body: { name: 'Plain', redirectUris: ['https://plain.example/cb'] } });
    assert.deepEqual([plain.json().client.resources, plain.json().client.scopes], [[], []], 'no lists: no API at all');
    for (const body of [
      { resources: ['urn:example:api'] },
      { resources: ['https://api.example/#frag'] },
      { resources: ['not a uri'] },
      { scopes: ['openid'] },
      { scopes: ['bad scope!'] },
      { scopes: 'orders:read' },
      { resources: Array.from({ length: 51 }, (_, i) => `https://api${i}.example`) },
    ]) {
      expectError(await call(server.app, 'PATCH', `/admin/clients/${client.clientId}`, { token: admin, body }), 400, 'validation_failed');
    }
  });

  it('a redirect URI over plain http off loopback, or with a fragment, is refused', async () => {
    expectError(await call(server.app, 'POST', '/admin/clients', { token: admin, body: { name: 'Bad', redirectUris: ['http://evil.example/cb'] } }), 400, 'validation_failed');
    expectError(await call(server.app, 'POST', '/admin/clients', { token: admin, body: { name: 'Bad', redirectUris: ['https://app.example/cb#x'] } }), 400, 'validation_failed');
  });

  it('a user who is not an admin is refused', async () => {
    const { body } = await registerUser(server.app);
    expectError(await call(server.app, 'GET', '/admin/clients', { token: body.accessToken }), 403, 'forbidden');
    expectError(await call(server.app, 'POST', '/admin/clients', { token: body.accessToken, body: { name: 'X', redirectUris: ['https://x.example/cb'] } }), 403, 'forbidden');
  });
});
