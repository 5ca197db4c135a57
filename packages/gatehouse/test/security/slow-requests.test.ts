// Attack catalogue: slow clients (slowloris, slow POST). A request must arrive whole within REQUEST_TIMEOUT and
// its headers within HEADERS_TIMEOUT, else 408 with the contract's body and the socket is closed; meanwhile the
// server keeps answering everyone else. Open connections are capped at MAX_CONNECTIONS.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { TEST_SECRET, startTestServer, type TestServer } from '../helpers/app.ts';
import { exchange, listen } from './raw-socket.ts';

/** Writes one byte every `everyMs` until the socket closes. */
function trickle(socket: net.Socket, everyMs: number, byte = ' '): void {
  const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(byte)), everyMs);
  socket.on('close', () => clearInterval(timer));
}

describe('slow requests', () => {
  let server: TestServer;
  let port: number;

  before(async () => {
    server = await startTestServer({ env: { REQUEST_TIMEOUT: '1s', HEADERS_TIMEOUT: '1s' } });
    port = await listen(server.app);
  });

  after(() => server.close());

  it('a body trickled in is cut off with 408 while /health keeps answering', async () => {
    const healthChecks: number[] = [];
    let trickling = true;
    const polling = (async () => {
      while (trickling) {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        healthChecks.push(res.status);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    const res = await exchange(
      port,
      (socket) => {
        socket.write('POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{');
        trickle(socket, 100);
      },
      15_000,
    );
    trickling = false;
    await polling;
    assert.ok(res.closedByServer, 'the server closed the connection');
    assert.ok(res.elapsedMs >= 1000 && res.elapsedMs < 5000, `cut off after ${res.elapsedMs} ms`);
    assert.equal(res.status, 408, res.text);
    assert.deepEqual(JSON.parse(res.body), { error: { code: 'request_timeout', message: 'The request took too long to arrive' } });
    assert.equal(res.headers['x-content-type-options']?.[0], 'nosniff');
    assert.ok(healthChecks.length >= 4, `health answered ${healthChecks.length} times during the trickle`);
    assert.ok(healthChecks.every((status) => status === 200), String(healthChecks));
  });

  it('headers trickled in (slowloris) are cut off with 408', async () => {
    const res = await exchange(
      port,
      (socket) => {
        socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n');
        trickle(socket, 100, 'X');
      },
      15_000,
    );
    assert.ok(res.closedByServer);
    assert.ok(res.elapsedMs < 5000, `cut off after ${res.elapsedMs} ms`);
    assert.equal(res.status, 408, res.text);
    assert.equal(JSON.parse(res.body).error.code, 'request_timeout');
  });

  it('a connection that sends nothing is closed', async () => {
    const res = await exchange(port, '', 15_000);
    assert.ok(res.closedByServer);
    assert.ok(res.elapsedMs < 5000, `closed after ${res.elapsedMs} ms`);
  });

  it('a request that arrives in time is served', async () => {
    const res = await exchange(port, (socket) => {
      socket.write('POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{');
      setTimeout(() => socket.write('}'), 300);
    });
    assert.equal(res.status, 400, res.text);
    assert.equal(JSON.parse(res.body).error.code, 'validation_failed');
  });
});

describe('open connections', () => {
  let server: TestServer;
  let port: number;

  before(async () => {
    server = await startTestServer({ env: { MAX_CONNECTIONS: '3', REQUEST_TIMEOUT: '2s' } });
    port = await listen(server.app);
  });

  after(() => server.close());

  it('past MAX_CONNECTIONS a new connection is closed at once; once one ends, requests are served again', async () => {
    const idle = [1, 2, 3].map(() => exchange(port, (socket) => socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n'), 10_000));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = await exchange(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', 2000);
    assert.ok(refused.closedByServer);
    assert.equal(refused.text, '', 'closed without an answer');
    await Promise.all(idle);
    const served = await exchange(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.equal(served.status, 200, served.text);
  });
});

describe('settings', () => {
  const base = { NODE_ENV: 'test', GATEHOUSE_SECRET: TEST_SECRET, DATA_DIR: '/tmp/gatehouse-unused' };

  it('have bounded defaults', () => {
    const config = loadConfig(base);
    assert.equal(config.requestTimeoutMs, 30_000);
    assert.equal(config.headersTimeoutMs, 10_000);
    assert.equal(config.keepAliveTimeoutMs, 72_000);
    assert.equal(config.maxConnections, 10_000);
  });

  it('take durations and refuse nonsense', () => {
    const config = loadConfig({ ...base, REQUEST_TIMEOUT: '2s', KEEP_ALIVE_TIMEOUT: '5s', MAX_CONNECTIONS: '50' });
    assert.equal(config.requestTimeoutMs, 2000);
    assert.equal(config.headersTimeoutMs, 2000, 'headers may not take longer than the whole request');
    assert.equal(config.keepAliveTimeoutMs, 5000);
    assert.equal(config.maxConnections, 50);
    assert.throws(() => loadConfig({ ...base, REQUEST_TIMEOUT: 'soon' }), /REQUEST_TIMEOUT/);
    assert.throws(() => loadConfig({ ...base, REQUEST_TIMEOUT: '0' }), /REQUEST_TIMEOUT/);
    assert.throws(() => loadConfig({ ...base, REQUEST_TIMEOUT: '5s', HEADERS_TIMEOUT: '10s' }), /HEADERS_TIMEOUT/);
    assert.throws(() => loadConfig({ ...base, MAX_CONNECTIONS: '0' }), /MAX_CONNECTIONS/);
  });
});
