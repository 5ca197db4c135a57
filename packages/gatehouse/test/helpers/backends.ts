// Real backends for tests. PostgreSQL and Redis are found at DATABASE_URL / REDIS_URL or their default
// local addresses. Outside CI a missing one skips its tests with a message; with CI=true it fails them.
import pg from 'pg';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
export const PG_BASE_URL = process.env.DATABASE_URL || 'postgres://root@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

async function reachable(check: () => Promise<void>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch {
    return false;
  }
}

let pgAvailable: Promise<boolean> | undefined;
let redisAvailable: Promise<boolean> | undefined;

export function postgresAvailable(): Promise<boolean> {
  pgAvailable ??= reachable(async () => {
    const client = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 2000 });
    await client.connect();
    await client.end();
  });
  return pgAvailable;
}

export function redisReachable(): Promise<boolean> {
  redisAvailable ??= reachable(async () => {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      await redis.connect();
      await redis.ping();
    } finally {
      redis.disconnect();
    }
  });
  return redisAvailable;
}

/**
 * The `skip` option for a PostgreSQL test: false when reachable; a message when not (outside CI).
 * In CI an unreachable server throws, so the test fails instead of silently skipping.
 */
export async function skipUnlessPostgres(): Promise<false | string> {
  if (await postgresAvailable()) return false;
  if (IN_CI) throw new Error(`PostgreSQL is required in CI but not reachable at ${PG_BASE_URL}`);
  return `PostgreSQL not reachable at ${PG_BASE_URL}: set DATABASE_URL or start it to run this test`;
}

export async function skipUnlessRedis(): Promise<false | string> {
  if (await redisReachable()) return false;
  if (IN_CI) throw new Error(`Redis is required in CI but not reachable at ${REDIS_URL}`);
  return `Redis not reachable at ${REDIS_URL}: set REDIS_URL or start it to run this test`;
}

/** A fresh, empty PostgreSQL database for one test file; `drop()` removes it. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gatehouse_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_BASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_BASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const client = new pg.Client({ connectionString: PG_BASE_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** A Redis key prefix no other test run uses. */
export function redisPrefix(): string {
  return `gh-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** A temporary DATA_DIR (SQLite file, generated secret); `remove()` deletes it. */
export function tempDataDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
