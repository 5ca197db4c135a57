// Fastify answering GET /auth/me with a fixed body, with some of Gatehouse's production layers:
// LAYERS=helmet,static-helmet,cookie,cors,log (comma-separated). `helmet` is @fastify/helmet as app.ts
// registers it (it rebuilds helmet's middleware on every request); `static-helmet` sets the same headers,
// computed once by helmet at start; `log` is pino with Gatehouse's logger options (redaction) at info, to a
// file. Started by bench/plugin-ladder.ts with fork(); sends { port } over IPC.
import Fastify, { type FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import { pino, destination } from 'pino';
import type { AddressInfo } from 'node:net';
import { loggerOptions } from '../../src/logger.ts';
const layers = (process.env.LAYERS ?? '').split(',');
const app: FastifyInstance = layers.includes('log')
  ? (Fastify({ loggerInstance: pino(loggerOptions('info'), destination({ dest: process.env.BENCH_LOG_FILE ?? '/dev/null', sync: false })) }) as unknown as FastifyInstance)
  : (Fastify({ logger: false }) as unknown as FastifyInstance);
if (layers.includes('helmet')) await app.register(helmet, { hsts: { maxAge: 31536000, includeSubDomains: true } });
if (layers.includes('static-helmet')) {
  const { default: helmetCore } = await import('helmet');
  const headers: Record<string, string> = {};
  helmetCore({ hsts: { maxAge: 31536000, includeSubDomains: true } })({} as any, { setHeader: (k: string, v: string) => (headers[k.toLowerCase()] = String(v)), removeHeader: () => {} } as any, () => {});
  app.addHook('onRequest', (_req, reply, done) => { reply.headers(headers); done(); });
}
if (layers.includes('cookie')) await app.register(cookie);
if (layers.includes('cors')) await app.register(cors, { origin: false });
app.get('/auth/me', async () => ({ user: { id: 'x', email: 'a@example.com', name: 'A', role: 'user' } }));
await app.listen({ host: '127.0.0.1', port: 0 });
process.send?.({ port: (app.server.address() as AddressInfo).port });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
