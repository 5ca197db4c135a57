// /metrics: the standard process metric names, the token, and METRICS=off.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { call } from './helpers/http.ts';

const servers: TestServer[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

it('names process metrics as every dashboard expects: process_*, nodejs_*, never gatehouse_process_process_*', async () => {
  const server = await startTestServer();
  servers.push(server);
  const res = await call(server.app, 'GET', '/metrics');
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /^process_cpu_seconds_total \d/m);
  assert.match(res.body, /^process_resident_memory_bytes \d/m);
  assert.match(res.body, /^nodejs_heap_size_used_bytes \d/m);
  assert.doesNotMatch(res.body, /gatehouse_process_/);
  assert.match(res.body, /^gatehouse_mail_queued 0/m);
});

it('asks for METRICS_TOKEN when set, and serves nothing with METRICS=off', async () => {
  const guarded = await startTestServer({ env: { METRICS_TOKEN: 'metrics-token-0123456789' } });
  servers.push(guarded);
  assert.equal((await call(guarded.app, 'GET', '/metrics')).statusCode, 401);
  assert.equal((await call(guarded.app, 'GET', '/metrics', { token: 'wrong' })).statusCode, 401);
  assert.equal((await call(guarded.app, 'GET', '/metrics', { token: 'metrics-token-0123456789' })).statusCode, 200);
  const off = await startTestServer({ env: { METRICS: 'off' } });
  servers.push(off);
  assert.equal((await call(off.app, 'GET', '/metrics')).statusCode, 404);
});

it("the request counter and latency histogram read exactly as prom-client's own Counter and Histogram would", async () => {
  const { Counter, Histogram, Registry } = await import('prom-client');
  const { RequestMetrics } = await import('../src/metrics.ts');
  const buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
  const theirs = new Registry();
  const count = new Counter({ name: 'gatehouse_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [theirs] });
  const time = new Histogram({ name: 'gatehouse_http_request_duration_seconds', help: 'HTTP request latency by route and status', labelNames: ['method', 'route', 'status'], buckets, registers: [theirs] });
  const ours = new Registry();
  const http = new RequestMetrics(ours, {
    counter: { name: 'gatehouse_http_requests_total', help: 'HTTP requests by route and status' },
    histogram: { name: 'gatehouse_http_request_duration_seconds', help: 'HTTP request latency by route and status' },
    buckets,
  });
  const requests: [string, string, string, number][] = [
    ['GET', '/auth/me', '200', 0.0004],
    ['POST', '/auth/refresh', '200', 0.012],
    ['GET', '/auth/me', '200', 0.001],
    ['GET', '/auth/me', '401', 0.0031],
    ['GET', 'unmatched', '404', 7.5],
    ['POST', '/auth/login', '200', 0.3337],
    ['GET', '/auth/me', '200', 5],
    ['POST', '/auth/refresh', '200', 0.1 + 0.2],
  ];
  for (const [method, route, status, seconds] of requests) {
    const labels = { method, route, status };
    count.labels(labels).inc();
    time.labels(labels).observe(seconds);
    http.observe(http.seriesOf(method, route, status), seconds);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
  theirs.resetMetrics();
  ours.resetMetrics();
  assert.equal(await ours.metrics(), await theirs.metrics());
});
