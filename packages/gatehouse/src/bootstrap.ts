// Opens everything a Config points at (database, shared state, key ring) and builds the Context.
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { BackgroundTasks } from './background.ts';
import type { Config } from './config.ts';
import type { Context } from './context.ts';
import { KeyRing } from './crypto/keys.ts';
import { PasswordHasher } from './crypto/passwords.ts';
import { AccessTokens } from './crypto/tokens.ts';
import { openDatabase, type DbHandle } from './db/connect.ts';
import { SqlKeyStore } from './db/key-store.ts';
import { sqlStores, sqlTransaction } from './db/stores.ts';
import { loggerOptions } from './logger.ts';
import { SqlMailQueueStore } from './db/mail-queue-store.ts';
import { MailQueue } from './mail/queue.ts';
import { MailSealer } from './mail/seal.ts';
import { createTransport } from './mail/transport.ts';
import { PrometheusMetrics, type Metrics } from './metrics.ts';
import { migrateToLatest } from './db/migrations.ts';
import { restoreRevocations } from './sessions/revocation.ts';
import { openRevocationFeed, type RevocationFeed } from './sessions/revocation-feed.ts';
import { LocalCounterFallback } from './state/fallback.ts';
import { MemoryState } from './state/memory.ts';
import { PostgresState } from './state/postgres.ts';
import { RedisState } from './state/redis.ts';
import type { SharedState } from './state/state.ts';
import { explainStartupFailure } from './startup.ts';

export interface Runtime {
  ctx: Context;
  log: PinoLogger;
  database: DbHandle;
  /** The mail queue behind ctx.mailer: tests and maintenance reach its worker here. */
  mail: MailQueue;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  now?: () => number;
  /** Prefix for Redis keys; tests use one per run. */
  redisPrefix?: string;
  migrate?: boolean;
  /** Where JSON log lines go (tests capture them); stdout by default. */
  logStream?: DestinationStream;
  metrics?: Metrics;
}


/**
 * Where shared state lives: Redis when REDIS_URL is set; else the PostgreSQL database, so that instances on one
 * database agree without Redis; else (SQLite, one process) memory. Shared stores are wrapped so rate-limit
 * counters fall back to local ones while the store is down.
 */
export function openState(config: Config, database: DbHandle, log: PinoLogger, options: RuntimeOptions = {}): SharedState {
  if (config.redisUrl) return new LocalCounterFallback(new RedisState(config.redisUrl, options.redisPrefix), log, options.now);
  if (database.dialect === 'postgres') return new LocalCounterFallback(new PostgresState(database.db, options.now), log, options.now);
  return new MemoryState(options.now);
}

/**
 * Where log lines go: the given stream (tests), else stdout, as JSON lines (production, pipes, journald) or, for a
 * person at a terminal in development, through pino-pretty. pino-pretty is a development dependency: without it
 * the lines stay JSON.
 */
async function logDestination(config: Config, stream: DestinationStream | undefined): Promise<DestinationStream | undefined> {
  if (stream) return stream;
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && config.env === 'development' && process.stdout.isTTY === true);
  if (!pretty) return undefined;
  try {
    const { default: prettyStream } = await import('pino-pretty');
    return prettyStream({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return undefined;
  }
}

export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const now = options.now ?? Date.now;
  const destination = await logDestination(config, options.logStream);
  const log = destination ? pino(loggerOptions(config.logLevel), destination) : pino(loggerOptions(config.logLevel));
  let database: DbHandle;
  try {
    database = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  } catch (err) {
    throw explainStartupFailure(err, config);
  }
  let state: SharedState | undefined;
  let revocationFeed: RevocationFeed | null = null;
  try {
    if (options.migrate !== false) await migrateToLatest(database.db).catch((err: unknown) => Promise.reject(explainStartupFailure(err, config)));
    state = openState(config, database, log, options);
    revocationFeed = openRevocationFeed(config, options.redisPrefix ?? 'gh:', log);
    const metrics = options.metrics ?? new PrometheusMetrics();
    const keyRing = new KeyRing({
      store: new SqlKeyStore(database.db),
      alg: config.jwtAlg,
      secret: config.secret,
      jwtSecret: config.jwtSecret,
      accessTokenTtlMs: config.accessTokenTtlMs,
      activationDelayMs: config.keyActivationDelayMs,
      now,
    });
    await keyRing.open();
    const background = new BackgroundTasks(log);
    const mailOptions = { dialect: database.dialect, sealer: new MailSealer(config.secret) };
    const mailStore = new SqlMailQueueStore(database.db, mailOptions.dialect, mailOptions.sealer);
    const mail = new MailQueue({ store: mailStore, transport: createTransport(config), now, log, metrics, background });
    const ctx: Context = {
      config,
      ...sqlStores(database.db, mailOptions),
      transaction: sqlTransaction(database.db, mailOptions),
      state,
      revocationFeed,
      keyRing,
      passwords: await PasswordHasher.open({ concurrency: config.hashConcurrency, queueMax: config.hashQueueMax, onRefused: () => metrics.rateLimited('hash_queue') }),
      tokens: new AccessTokens(keyRing, {
        issuer: config.publicUrl,
        audience: config.jwtAudience,
        ttlMs: config.accessTokenTtlMs,
        keyRingRefreshMs: config.keyRingRefreshMs,
      }),
      now,
      log,
      mailer: mail,
      background,
      metrics,
    };
    if (metrics instanceof PrometheusMetrics) {
      metrics.addGauge('gatehouse_password_hash_queue', 'Password hashes waiting for a slot', () => ctx.passwords.load.queued);
      metrics.addAsyncGauge('gatehouse_mail_queued', 'E-mails waiting to be delivered (including retries)', async () => (await mailStore.counts()).pending);
      metrics.addAsyncGauge('gatehouse_mail_dead', 'E-mails given up after every retry, until maintenance deletes them', async () => (await mailStore.counts()).dead);
    }
    await restoreRevocations(ctx);
    // A Redis that restarts comes back empty: put the revocation set back before it is read again.
    state.onReconnect?.(async () => {
      const restored = await restoreRevocations(ctx);
      log.info({ restored }, 'shared state reconnected; revocations restored');
    });
    // Mail queued before a restart, or by another instance, is delivered from now on.
    mail.start();
    const opened = state;
    return {
      ctx,
      log,
      database,
      mail,
      async close() {
        // Mail queued after a response is still attempted before the connections close; what fails stays queued.
        mail.stop();
        await ctx.background.drain();
        mail.close();
        await opened.close();
        await ctx.revocationFeed?.close();
        await database.close();
      },
    };
  } catch (err) {
    await state?.close().catch(() => {});
    await revocationFeed?.close().catch(() => {});
    await database.close().catch(() => {});
    throw err;
  }
}
