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
  it('documents every route of the server with its answers, each status by itself', async () => {
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
      const statuses = Object.keys(operation.responses);
      assert.ok(statuses.some((s) => /^[23]\d\d$/.test(s)), `${method} ${url} documents its success`);
      // Each status is listed by itself: a 4XX catch-all would let any refusal pass the response check.
      assert.deepEqual(statuses.filter((s) => !/^\d{3}$/.test(s)), [], `${method} ${url} lists statuses, not ranges`);
      for (const common of ['400', '429', '500', '503']) assert.ok(operation.responses[common], `${method} ${url} documents ${common}`);
    }
    assert.ok(doc.components.schemas.ErrorResponse, 'the error body is a named schema');
    const register = doc.paths['/auth/register'].post;
    const password = register.requestBody.content['application/json'].schema.properties.password;
    assert.equal(password.minLength, server.config.passwordMinLength, "the password policy's bounds are in the document");
    assert.equal(password.maxLength, server.config.passwordMaxLength);
    assert.equal(register.responses['409'].content['application/json'].schema.properties.error.properties.code.enum[0], 'email_taken');
    const page = doc.paths['/login'].post;
    assert.ok(page.requestBody.content['application/x-www-form-urlencoded'], 'a page documents its form');
    assert.ok(page.responses['303'].headers.location, 'a redirect documents its Location');
    assert.ok(page.responses['401'].content['text/html'], "a page's errors are pages");
    const login = doc.paths['/auth/login'].post;
    assert.deepEqual(login.requestBody.content['application/json'].schema.required.sort(), ['email', 'password']);
  });

  it('checks every answer the tests receive against the document (test/helpers/response-check.ts)', async () => {
    const doc = server.app.swagger() as any;
    const health = doc.paths['/health'].get.responses;
    const declared = health['200'];
    delete health['200'];
    const csrfSchema = doc.paths['/auth/csrf'].get.responses['200'].content['application/json'].schema;
    csrfSchema.required = [...csrfSchema.required, 'somethingElse'];
    try {
      assert.equal((await call(server.app, 'GET', '/health')).statusCode, 200);
      assert.equal((await call(server.app, 'GET', '/auth/csrf')).statusCode, 200);
      const found = [...server.responseViolations];
      assert.ok(found.some((v) => v.startsWith('GET /health → 200') && v.includes('status 200 is not declared')), found.join('\n'));
      assert.ok(found.some((v) => v.startsWith('GET /auth/csrf → 200') && v.includes("must have required property 'somethingElse'")), found.join('\n'));
    } finally {
      health['200'] = declared;
      csrfSchema.required = csrfSchema.required.filter((name: string) => name !== 'somethingElse');
      server.responseViolations.clear();
    }
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
