// One scenario's world: a private PostgreSQL with a fresh database, a private Redis, and a Gatehouse server
// process on both. Every scenario that needs one server starts it here and tears it down in reverse order.
import { PrivatePostgres, PrivateRedis } from './backends.ts';
import { GatehouseServer } from './gatehouse.ts';

export interface Stack {
  postgres: PrivatePostgres;
  redis: PrivateRedis;
  server: GatehouseServer;
  databaseUrl: string;
}

export async function startStack(database: string): Promise<Stack> {
  const postgres = await PrivatePostgres.start();
  const redis = await PrivateRedis.start();
  const databaseUrl = await postgres.createDatabase(database);
  const server = await GatehouseServer.start({ databaseUrl, redisUrl: redis.url });
  return { postgres, redis, server, databaseUrl };
}

/** Stops what was started, server first; parts that never started are skipped. */
export async function stopStack(stack: Partial<Stack>): Promise<void> {
  await stack.server?.destroy();
  await stack.redis?.destroy();
  await stack.postgres?.destroy();
}
