// Starts the HTTP server and shuts it down gracefully on SIGTERM/SIGINT.
import { buildApp } from './app.ts';
import { openRuntime, type Runtime } from './bootstrap.ts';
import { ConfigError, type Config } from './config.ts';
import { describeUrl, explainListenFailure } from './startup.ts';
import { scheduleMaintenance } from './maintenance.ts';

// In-flight requests get this long to finish before the process exits anyway.
const SHUTDOWN_GRACE_MS = 10_000;
// After SIGTERM the server keeps answering this long (with `Connection: close` and /ready at 503) before it
// stops listening: requests already sent, but not yet read off a busy event loop, are answered rather than
// reset, and a load balancer has time to notice.
const DRAIN_MS = 1000;
const REDIS_CHECK_MS = 3000;

export function sharedStateKind(config: Config, runtime: Runtime): 'redis' | 'postgres' | 'memory' {
  if (config.redisUrl) return 'redis';
  return runtime.database.dialect === 'postgres' ? 'postgres' : 'memory';
}

/**
 * A server whose Redis does not answer would start and then refuse every Bearer request with a 503; refusing
 * to start says what is wrong while someone is watching.
 */
async function checkRedis(config: Config, runtime: Runtime): Promise<void> {
  if (!config.redisUrl) return;
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${REDIS_CHECK_MS / 1000} s`)), REDIS_CHECK_MS).unref());
  try {
    await Promise.race([runtime.ctx.state.ping(), timeout]);
  } catch (err) {
    // The state wraps the client's error (STATE_UNAVAILABLE); its cause says ECONNREFUSED, ENOTFOUND, NOAUTH…
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (err as { code?: string }).code ?? (err as Error).message;
    throw new ConfigError('REDIS_URL', `Redis at ${describeUrl(config.redisUrl).where} does not answer (${reason}): start Redis, correct REDIS_URL, or unset it to keep the shared state in ${runtime.database.dialect === 'postgres' ? 'PostgreSQL' : 'memory'}`);
  }
}

export async function serve(config: Config): Promise<void> {
  const runtime = await openRuntime(config);
  try {
    await checkRedis(config, runtime);
  } catch (err) {
    await runtime.close().catch(() => {});
    throw err;
  }
  const app = await buildApp(runtime.ctx, runtime.database.db, runtime.log);
  let stopping = false;
  app.addHook('onRequest', async (request, reply) => {
    if (!stopping) return;
    reply.header('connection', 'close');
    if (request.url === '/ready') reply.status(503).send({ error: { code: 'service_unavailable', message: 'Shutting down' } });
  });
  const maintenance = scheduleMaintenance(runtime);
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
      await maintenance.stop();
      await runtime.close();
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await maintenance.stop();
    await app.close().catch(() => {});
    await runtime.close().catch(() => {});
    throw explainListenFailure(err, config);
  }
  app.log.info(
    {
      publicUrl: config.publicUrl,
      storage: runtime.database.dialect,
      sharedState: sharedStateKind(config, runtime),
      alg: config.jwtAlg,
      mail: runtime.ctx.mailer.destination,
      metrics: !config.metricsEnabled ? 'off' : config.metricsToken ? '/metrics with METRICS_TOKEN' : '/metrics, open to anyone who can reach it',
    },
    'gatehouse ready',
  );
}
