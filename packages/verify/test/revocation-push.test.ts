// Revocation latency, measured: logout on Gatehouse → first 401 token_revoked from a separate Express
// service that uses @gatehouse/verify with pushed revocations, polled in a bounded tight loop over loopback.
// Once over Redis pub/sub, once over PostgreSQL NOTIFY (Gatehouse without Redis).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, describe, it } from 'node:test';
import express from 'express';
import { createVerifier, type Verifier } from '../src/index.ts';
import { expressAuth } from '../src/express.ts';
import { post, redisUrl, signUp, skipUnlessRedis, startGatehouse, type Gatehouse } from './helpers/gatehouse.ts';

const RUNS = 7;
const BOUND_MS = 1000;

async function skipUnlessPostgres(): Promise<false | string> {
  const backends = await import(new URL('../../gatehouse/test/helpers/backends.ts', import.meta.url).href);
  return backends.skipUnlessPostgres();
}

async function startService(verifier: Verifier): Promise<{ url: string; server: Server }> {
  const app = express();
  const { requireAuth } = expressAuth(verifier);
  app.get('/api/me', requireAuth, (req, res) => res.json({ sub: (req as unknown as { auth: { sub: string } }).auth.sub }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`not true within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Logs out, then polls the service until it refuses; the milliseconds from the logout's start to the 401. */
async function measure(gatehouse: Gatehouse, service: string): Promise<number> {
  const { accessToken } = await signUp(gatehouse);
  const auth = { authorization: `Bearer ${accessToken}` };
  assert.equal((await fetch(`${service}/api/me`, { headers: auth })).status, 200);
  const started = performance.now();
  const logout = post(`${gatehouse.url}/auth/logout`, {}, accessToken);
  let status = 200;
  let body = '';
  for (let i = 0; i < 5000 && status === 200; i += 1) {
    const res = await fetch(`${service}/api/me`, { headers: auth });
    status = res.status;
    body = await res.text();
  }
  const elapsed = performance.now() - started;
  assert.equal((await logout).status, 204);
  assert.equal(status, 401, body);
  assert.match(body, /token_revoked/);
  return elapsed;
}

function report(label: string, figures: number[]): void {
  const sorted = [...figures].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const max = sorted.at(-1)!;
  console.log(`# revocation latency, ${label}: median ${median.toFixed(1)} ms, max ${max.toFixed(1)} ms over ${figures.length} runs (${sorted.map((f) => f.toFixed(1)).join(', ')})`);
  assert.ok(max < BOUND_MS, `${label}: ${max} ms`);
}

const skipRedis = await skipUnlessRedis();
const skipPg = await skipUnlessPostgres();

describe('pushed revocations reach a verifying service', () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });

  it('over Redis pub/sub: logout → first refusal', { skip: skipRedis }, async () => {
    const prefix = `gh-test:push:${randomBytes(4).toString('hex')}:`;
    const gatehouse = await startGatehouse({ redis: true, redisPrefix: prefix });
    closers.push(() => gatehouse.close());
    const verifier = createVerifier({ issuer: gatehouse.issuer, audience: gatehouse.issuer, jwksUrl: gatehouse.jwksUrl, revocation: { redis: { url: await redisUrl(), prefix } } });
    closers.push(() => verifier.close());
    const service = await startService(verifier);
    closers.push(() => new Promise((resolve) => service.server.close(resolve)));
    // Starts the subscription (the verifier opens its connections on first use).
    await fetch(`${service.url}/api/me`);
    await until(() => verifier.revocationPushActive, 5000);
    const figures: number[] = [];
    for (let i = 0; i < RUNS; i += 1) figures.push(await measure(gatehouse, service.url));
    report('Redis pub/sub', figures);
  });

  it('over PostgreSQL NOTIFY (no Redis): logout → first refusal, with introspection only as the fallback', { skip: skipPg }, async () => {
    const prefix = `gh-test:push:${randomBytes(4).toString('hex')}:`;
    const gatehouse = await startGatehouse({ postgres: true, redisPrefix: prefix } as never);
    closers.push(() => gatehouse.close());
    // The fallback answers 503 to everything: a 401 token_revoked can only come from the pushed set.
    const stub = createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => stub.close(resolve)));
    const introspect = { url: `http://127.0.0.1:${(stub.address() as { port: number }).port}/auth/introspect`, token: 'unused' };
    const databaseUrl = (gatehouse.config as { databaseUrl?: string }).databaseUrl!;
    const verifier = createVerifier({ issuer: gatehouse.issuer, audience: gatehouse.issuer, jwksUrl: gatehouse.jwksUrl, revocation: { postgres: { url: databaseUrl, prefix, introspect } } });
    closers.push(() => verifier.close());
    const service = await startService(verifier);
    closers.push(() => new Promise((resolve) => service.server.close(resolve)));
    await until(() => verifier.revocationPushActive, 5000);
    // iat has one-second resolution and the verifier allows 5 s of clock difference: tokens issued in the
    // first seconds of the subscription still go to the fallback, so wait that margin out.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const figures: number[] = [];
    for (let i = 0; i < RUNS; i += 1) figures.push(await measure(gatehouse, service.url));
    report('PostgreSQL NOTIFY', figures);
  });
});
