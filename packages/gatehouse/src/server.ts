// Starts the HTTP server and shuts it down gracefully on SIGTERM/SIGINT.
import { buildApp } from './app.ts';
import { pruneEvents } from './audit/service.ts';
import { openRuntime } from './bootstrap.ts';
import type { Config } from './config.ts';

// In-flight requests get this long to finish before the process exits anyway.
const SHUTDOWN_GRACE_MS = 10_000;
// After SIGTERM the server keeps answering this long (with `Connection: close` and /ready at 503) before it
// stops listening: requests already sent, but not yet read off a busy event loop, are answered rather than
// reset, and a load balancer has time to notice.
const DRAIN_MS = 1000;

export async function serve(config: Config): Promise<void> {
  const runtime = await openRuntime(config);
  const app = await buildApp(runtime.ctx, runtime.database.db, runtime.log);
  let stopping = false;
  app.addHook('onRequest', async (request, reply) => {
    if (!stopping) return;
    reply.header('connection', 'close');
    if (request.url === '/ready') reply.status(503).send({ error: { code: 'service_unavailable', message: 'Shutting down' } });
  });
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      app.log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS + DRAIN_MS);
    timer.unref();
    try {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
      await app.close();
      await runtime.close();
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  // Audit events older than AUDIT_RETENTION are deleted at start and then every six hours.
  const prune = () => pruneEvents(runtime.ctx).then((n) => n && app.log.info({ deleted: n }, 'pruned old audit events'), (err) => app.log.error({ err }, 'audit pruning failed'));
  void prune();
  setInterval(prune, 6 * 3_600_000).unref();

  await app.listen({ port: config.port, host: config.host });
  app.log.info(
    {
      publicUrl: config.publicUrl,
      storage: runtime.database.dialect,
      sharedState: config.redisUrl ? 'redis' : 'memory',
      alg: config.jwtAlg,
      mail: runtime.ctx.mailer.destination,
    },
    'gatehouse ready',
  );
}
