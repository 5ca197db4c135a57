// Pushes each revoked session id to the services that verify Gatehouse's tokens (@gatehouse/verify), so they
// refuse its access tokens within a message's travel time instead of at their exp. Redis pub/sub when
// REDIS_URL is set; else PostgreSQL NOTIFY when the database is PostgreSQL; else (SQLite) nothing is pushed.
//
// Channel: `<prefix>revocations` (prefix = the Redis key prefix, `gh:` by default, so `gh:revocations`),
// the same name on Redis and as the PostgreSQL NOTIFY channel.
// Payload: JSON `{"v":1,"sid":"<session id>","until":<ms since epoch>}`: refuse tokens with this `sid` until
// `until` (when every access token of that session has expired). A lost message is covered by the
// subscriber's fallback (the `<prefix>rev:<sid>` keys, or introspection), never by this publisher retrying.
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';

export interface Revocation {
  sid: string;
  until: number;
}

export interface RevocationFeed {
  publish(revocations: readonly Revocation[]): Promise<void>;
  close(): Promise<void>;
}

export const revocationChannel = (prefix: string) => `${prefix}revocations`;
export const revocationMessage = (r: Revocation) => JSON.stringify({ v: 1, sid: r.sid, until: r.until });

export function openRevocationFeed(config: Pick<Config, 'redisUrl' | 'databaseUrl'>, prefix: string, log: Logger): RevocationFeed | null {
  const channel = revocationChannel(prefix);
  if (config.redisUrl) return redisFeed(config.redisUrl, channel, log);
  if (config.databaseUrl) return postgresFeed(config.databaseUrl, channel, log);
  return null;
}

// A revocation is recorded before it is pushed; a backend that hangs must not hold the logout up for long.
const PUBLISH_TIMEOUT_MS = 1000;

function bounded(work: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not published within ${PUBLISH_TIMEOUT_MS} ms`)), PUBLISH_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function redisFeed(url: string, channel: string, log: Logger): RevocationFeed {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on('error', () => {});
  return {
    async publish(revocations) {
      await bounded(Promise.all(revocations.map((r) => redis.publish(channel, revocationMessage(r))))).catch((err: unknown) => {
        // The revocation itself is recorded (database, rev:<sid>); subscribers that miss this fall back to those.
        log.warn({ err, channel }, 'revocation not pushed to verifiers');
      });
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function postgresFeed(url: string, channel: string, log: Logger): RevocationFeed {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: PUBLISH_TIMEOUT_MS });
  pool.on('error', () => {});
  return {
    async publish(revocations) {
      await bounded(Promise.all(revocations.map((r) => pool.query('SELECT pg_notify($1, $2)', [channel, revocationMessage(r)])))).catch((err: unknown) => {
        log.warn({ err, channel }, 'revocation not pushed to verifiers');
      });
    },
    async close() {
      await pool.end().catch(() => {});
    },
  };
}
