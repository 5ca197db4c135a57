// The operations side: the OpenAPI document covers every route, /metrics counts what matters.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registeredRoutes } from '../../src/http/plugins/openapi.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { call, expectError, registerUser } from '../helpers/http.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer({ env: { METRICS_TOKEN: 'metrics-token-for-tests-0123456789' } });
});
after(() => server.close());

describe('OpenAPI', () => {
  it('documents every route of the server with its error responses', async () => {
    const res = await call(server.app, 'GET', '/openapi.json');
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.equal(doc.openapi, '3.1.0');
    const routes = registeredRoutes(server.app).filter((r) => r.url !== '/openapi.json');
    assert.ok(routes.length >= 30, `${routes.length} routes`);
    for (const { method, url } of routes) {
      const path = url.replace(/:(\w+)/g, '{$1}');
      const operation = doc.paths[path]?.[method.toLowerCase()];
      assert.ok(operation, `${method} ${url} is in the document`);
      assert.ok(operation.responses['4XX'] || operation.responses['4xx'], `${method} ${url} documents its 4xx errors`);
      assert.ok(operation.responses['5XX'] || operation.responses['5xx'], `${method} ${url} documents its 5xx errors`);
    }
    const login = doc.paths['/auth/login'].post;
    assert.deepEqual(login.requestBody.content['application/json'].schema.required.sort(), ['email', 'password']);
  });

  it('serves a browsable page at /docs', async () => {
    const res = await call(server.app, 'GET', '/docs');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
  });
});

describe('metrics', () => {
  it('is refused without METRICS_TOKEN and counts requests, logins and rotations with it', async () => {
    expectError(await call(server.app, 'GET', '/metrics'), 401, 'authentication_required');
    expectError(await call(server.app, 'GET', '/metrics', { token: 'wrong' }), 401, 'authentication_required');
    const { email, body } = await registerUser(server.app);
    await call(server.app, 'POST', '/auth/login', { body: { email, password: 'wrong password!' } });
    await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } });
    await call(server.app, 'GET', `/admin/users/${body.user.id}`, { token: body.accessToken });
    const res = await call(server.app, 'GET', '/metrics', { token: 'metrics-token-for-tests-0123456789' });
    assert.equal(res.statusCode, 200);
    const text = res.body;
    assert.match(text, /gatehouse_http_requests_total\{method="POST",route="\/auth\/register",status="201"\} 1/);
    assert.match(text, /gatehouse_http_requests_total\{method="GET",route="\/admin\/users\/:id",status="403"\} 1/, 'routes are labelled by pattern, not by id');
    assert.ok(!text.includes(body.user.id), 'no user id in a label');
    assert.match(text, /gatehouse_logins_total\{result="failed"\} 1/);
    assert.match(text, /gatehouse_refresh_rotations_total 1/);
    assert.match(text, /gatehouse_password_hash_seconds_count 1/);
    assert.match(text, /gatehouse_database_up 1/);
    assert.match(text, /gatehouse_http_request_duration_seconds_bucket/);
  });
});
