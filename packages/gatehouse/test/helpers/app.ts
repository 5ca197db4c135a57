// Builds a real app (real SQLite or PostgreSQL, real memory or Redis state) for in-process tests.
import { Writable } from 'node:stream';
import { buildApp } from '../../src/app.ts';
import { openRuntime, type Runtime } from '../../src/bootstrap.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { App } from '../../src/http/types.ts';
import { REDIS_URL, createTestDatabase, redisPrefix, tempDataDir } from './backends.ts';
import { checkResponses } from './response-check.ts';

export interface TestServer {
  app: App;
  runtime: Runtime;
  config: Config;
  /** Every log line the app wrote, as text. */
  logs: string[];
  clock: { now: number; advance(ms: number): void } | null;
  /** Answers that do not match /openapi.json (test/helpers/response-check.ts); close() fails when there are any. */
  responseViolations: Set<string>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  env?: Record<string, string>;
  postgres?: boolean;
  redis?: boolean;
  /** Start a fake clock at this time (ms); the server reads time only from it. */
  fakeClock?: number;
  /** Reuse an existing PostgreSQL database URL (two instances on one database). */
  databaseUrl?: string;
  /** Reuse a DATA_DIR (two instances on one SQLite file). */
  dataDir?: string;
  redisPrefix?: string;
}

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** Generous limits so tests that are not about rate limits are not stopped by them. */
const RELAXED_LIMITS = {
  RATE_LIMIT_LOGIN_ACCOUNT: '1000/15m',
  RATE_LIMIT_LOGIN_IP: '1000/15m',
  RATE_LIMIT_SIGNUP_IP: '1000/1h',
  RATE_LIMIT_MAIL_ACCOUNT: '1000/1h',
  RATE_LIMIT_IP: '100000/1m',
};

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const data = options.dataDir ? null : tempDataDir();
  const database = options.postgres && !options.databaseUrl ? await createTestDatabase() : null;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PUBLIC_URL: 'http://127.0.0.1:3000',
    DATA_DIR: options.dataDir ?? data!.dir,
    GATEHOUSE_SECRET: TEST_SECRET,
    LOG_LEVEL: 'info',
    ...RELAXED_LIMITS,
    ...(options.postgres ? { DATABASE_URL: options.databaseUrl ?? database!.url } : {}),
    ...(options.redis ? { REDIS_URL } : {}),
    ...options.env,
  };
  const config = loadConfig(env);
  const clock =
    options.fakeClock === undefined
      ? null
      : {
          now: options.fakeClock,
          advance(ms: number) {
            this.now += ms;
          },
        };
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const runtime = await openRuntime(config, { now: clock ? () => clock.now : undefined, redisPrefix: options.redisPrefix ?? redisPrefix(), logStream });
  const app = await buildApp(runtime.ctx, runtime.database.db, runtime.log);
  const responseViolations = checkResponses(app);
  await app.ready();
  return {
    app,
    runtime,
    config,
    logs,
    clock,
    responseViolations,
    async close() {
      await app.close();
      await runtime.close();
      await database?.drop();
      data?.remove();
      if (responseViolations.size) {
        throw new Error(`${responseViolations.size} answer(s) do not match /openapi.json:\n${[...responseViolations].join('\n')}`);
      }
    },
  };
}
