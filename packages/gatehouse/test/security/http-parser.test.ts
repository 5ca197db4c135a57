// Attack catalogue: requests Node's HTTP parser refuses before any route runs, and the Host rules of
// RFC 9112 §3.2. Each is sent as raw bytes to a real listening server and must get the contract's error body
// `{ error: { code, message } }`, the right status and the security headers, never Node's bare answer. A known
// path asked with a method it does not have is 405 with Allow, not 404.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { exchange, listen, type RawResponse } from './raw-socket.ts';

let server: TestServer;
let port: number;

before(async () => {
  server = await startTestServer();
  port = await listen(server.app);
});

after(() => server.close());

function expectContractError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers['content-type']?.[0] ?? '', /^application\/json/);
  const body = JSON.parse(res.body);
  assert.equal(body.error?.code, code, res.body);
  assert.equal(typeof body.error.message, 'string');
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(res.headers['x-content-type-options']?.[0], 'nosniff', 'security headers on a parser error');
  assert.ok(res.headers['content-security-policy']?.[0]?.includes("default-src 'self'"));
  assert.equal(res.headers['x-frame-options']?.[0], 'SAMEORIGIN');
}

describe('what the HTTP parser refuses gets the contract body and security headers', () => {
  it('headers over the size limit: 431', async () => {
    const res = await exchange(port, `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`);
    expectContractError(res, 431, 'headers_too_large');
    assert.ok(res.closedByServer);
  });

  it('a URL over the size limit: 431', async () => {
    const res = await exchange(port, `GET /health?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    expectContractError(res, 431, 'headers_too_large');
  });

  it('an unknown method: 400', async () => {
    expectContractError(await exchange(port, 'BREW /health HTTP/1.1\r\nHost: localhost\r\n\r\n'), 400, 'validation_failed');
  });

  it('a NUL in a header value: 400', async () => {
    expectContractError(await exchange(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nX-Note: a\0b\r\n\r\n'), 400, 'validation_failed');
  });

  it('a header name with a space in it: 400', async () => {
    expectContractError(await exchange(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nBad Name: x\r\n\r\n'), 400, 'validation_failed');
  });

  it('both Content-Length and Transfer-Encoding (request smuggling): 400, and the connection closes', async () => {
    const res = await exchange(
      port,
      'POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /health HTTP/1.1\r\nHost: localhost\r\n\r\n',
    );
    expectContractError(res, 400, 'validation_failed');
    assert.ok(res.closedByServer);
    assert.equal(res.text.match(/HTTP\/1\.1 /g)?.length, 1, 'the smuggled request is not answered');
  });

  it('a Content-Length that is not a number: 400', async () => {
    expectContractError(await exchange(port, 'POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1x\r\n\r\n'), 400, 'validation_failed');
  });

  it('a malformed chunk size: 400', async () => {
    const res = await exchange(port, 'POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n');
    expectContractError(res, 400, 'validation_failed');
  });

  it('a request line that is not HTTP at all: 400', async () => {
    expectContractError(await exchange(port, 'hello there\r\n\r\n'), 400, 'validation_failed');
  });

  it('a server still answers after all of that', async () => {
    const res = await exchange(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 200, res.text);
  });
});

describe('Host (RFC 9112 §3.2)', () => {
  it('an HTTP/1.1 request without Host: 400 with the contract body and security headers', async () => {
    const res = await exchange(port, 'GET /health HTTP/1.1\r\n\r\n');
    expectContractError(res, 400, 'validation_failed');
    assert.match(JSON.parse(res.body).error.message, /Host/);
    assert.equal(res.headers.connection?.[0]?.toLowerCase(), 'close');
  });

  it('two Host headers: 400, and nothing more is read from the connection', async () => {
    const res = await exchange(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\nGET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expectContractError(res, 400, 'validation_failed');
    assert.match(JSON.parse(res.body).error.message, /more than one Host/);
    assert.ok(res.closedByServer);
    assert.equal(res.text.match(/HTTP\/1\.1 /g)?.length, 1);
  });

  it('two Host headers are refused even on a route that needs no authentication', async () => {
    const res = await exchange(port, 'POST /auth/login HTTP/1.1\r\nHost: a\r\nhost: b\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    expectContractError(res, 400, 'validation_failed');
  });

  it('HTTP/1.0 without Host is still served (Host is required of HTTP/1.1 only)', async () => {
    const res = await exchange(port, 'GET /health HTTP/1.0\r\n\r\n');
    assert.equal(res.status, 200, res.text);
  });
});

describe('405 for a known path with a wrong method', () => {
  it('PUT /auth/me is 405 with Allow', async () => {
    const res = await exchange(port, 'PUT /auth/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expectContractError(res, 405, 'method_not_allowed');
    assert.equal(res.headers.allow?.[0], 'DELETE, GET, HEAD, PATCH');
  });

  it('a parameterised path: DELETE on /auth/login and GET on /admin/users/:id/…', async () => {
    const login = await server.app.inject({ method: 'DELETE', url: '/auth/login' });
    assert.equal(login.statusCode, 405);
    assert.equal(login.json().error.code, 'method_not_allowed');
    assert.equal(login.headers.allow, 'POST');
    const user = await server.app.inject({ method: 'POST', url: '/admin/users/some-id' });
    assert.equal(user.statusCode, 405);
    assert.deepEqual(String(user.headers.allow).split(', '), ['DELETE', 'GET', 'HEAD', 'PATCH']);
  });

  it('a method Fastify has no route for at all (PROPFIND) on a known path is 405 too', async () => {
    const res = await exchange(port, 'PROPFIND /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expectContractError(res, 405, 'method_not_allowed');
    assert.equal(res.headers.allow?.[0], 'GET, HEAD');
  });

  it('an unknown path is still 404', async () => {
    const res = await server.app.inject({ method: 'PUT', url: '/no/such/path' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'not_found');
    assert.equal(res.headers.allow, undefined);
  });

  it('the query string does not hide the path', async () => {
    const res = await server.app.inject({ method: 'POST', url: '/health?x=1' });
    assert.equal(res.statusCode, 405);
  });
});
