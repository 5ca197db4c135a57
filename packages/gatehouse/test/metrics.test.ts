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
