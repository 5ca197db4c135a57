// Starts the HTTP server and shuts it down gracefully on SIGTERM/SIGINT.
import { buildApp } from './app.ts';
import { openRuntime } from './bootstrap.ts';
import type { Config } from './config.ts';

// In-flight requests get this long to finish before the process exits anyway.
const SHUTDOWN_GRACE_MS = 10_000;

export async function serve(config: Config): Promise<void> {
  const runtime = await openRuntime(config);
  const app = await buildApp(runtime.ctx, runtime.database.db, runtime.log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      app.log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    try {
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
