// The ceilings that answer HTTP, each in its own process like the servers they bound:
//   BENCH_BASELINE=node-http  bare node:http answering GET /auth/me with a fixed { user }
//   BENCH_BASELINE=fastify    Fastify (no plugins, no hooks) answering the same route without auth
//   BENCH_BASELINE=verify     the same Fastify route behind @gatehouse/verify's requireAuth, verifying
//                             Gatehouse access tokens against its JWKS (BENCH_ISSUER, BENCH_JWKS_URL)
// BENCH_USER is the JSON body's user. Started by bench/compare.ts with fork(); sends { port } over IPC.
import Fastify from 'fastify';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const mode = process.env.BENCH_BASELINE ?? 'fastify';
const body = JSON.stringify({ user: JSON.parse(process.env.BENCH_USER ?? '{}') });
let close: () => Promise<void>;
let port: number;

if (mode === 'node-http') {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/auth/me') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  close = () => new Promise((resolve) => server.close(() => resolve()));
} else {
  const app = Fastify({ logger: false });
  const answer = JSON.parse(body) as object;
  if (mode === 'verify') {
    // Loaded untyped from the package's source: its Fastify type augmentation (request.auth) would clash
    // with the server's own when the bench is type-checked with the server.
    const verify = await import(new URL('../../../verify/src/index.ts', import.meta.url).href);
    const { gatehouseAuth } = await import(new URL('../../../verify/src/fastify.ts', import.meta.url).href);
    const issuer = process.env.BENCH_ISSUER!;
    const verifier = verify.createVerifier({ issuer, audience: issuer, jwksUrl: process.env.BENCH_JWKS_URL, algorithms: [process.env.BENCH_JWT_ALG ?? 'RS256'] });
    await app.register(gatehouseAuth, { verifier });
    const guarded = app as unknown as { requireAuth: never };
    app.get('/auth/me', { preHandler: guarded.requireAuth }, async () => answer);
  } else {
    app.get('/auth/me', async () => answer);
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
  close = () => app.close();
}

process.send?.({ port });
process.once('SIGTERM', () => void close().then(() => process.exit(0)));
