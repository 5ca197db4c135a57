// Every failure to start names the setting to fix and exits non-zero; the ready line says what was opened.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { TEST_SECRET } from './helpers/app.ts';
import { freePort, serveUntilReady } from './helpers/process.ts';
import { PG_BASE_URL, createTestDatabase, skipUnlessPostgres, tempDataDir } from './helpers/backends.ts';

let data: ReturnType<typeof tempDataDir>;

/** Runs `gatehouse serve`; resolves when it exits, or when it logs "gatehouse ready" (then it is stopped). */
function serve(extra: Record<string, string>) {
  return serveUntilReady({ PATH: process.env.PATH, INIT_CWD: data.dir, DATA_DIR: data.dir, GATEHOUSE_SECRET: TEST_SECRET, LOG_LEVEL: 'info', PORT: '0', ...extra });
}

async function refuses(extra: Record<string, string>, variable: string, hint: RegExp, secret?: string) {
  const result = await serve(extra);
  assert.equal(result.ready, false, `started anyway: ${result.stdout}`);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, new RegExp(`${variable}: `), result.stderr);
  assert.match(result.stderr, hint, result.stderr);
  if (secret) assert.ok(!result.stderr.includes(secret), 'the password in a URL is not printed');
}

before(() => {
  data = tempDataDir();
});
after(() => data.remove());

describe('start-up failures name the setting', () => {
  it('a malformed DATABASE_URL, REDIS_URL or SMTP_URL', async () => {
    await refuses({ DATABASE_URL: 'postgres://gate:pa:ss@db.example:notaport/x' }, 'DATABASE_URL', /not a valid URL.*percent-encoded/, 'pa:ss');
    await refuses({ REDIS_URL: 'redis://:hunter2@cache:99999999' }, 'REDIS_URL', /not a valid URL/, 'hunter2');
    await refuses({ SMTP_URL: 'smtp://mail:s3cret@smtp.example:port' }, 'SMTP_URL', /not a valid URL/, 's3cret');
  });

  it('a PostgreSQL that refuses the connection, or a database that does not exist', async (t) => {
    await refuses({ DATABASE_URL: `postgres://root:pw@127.0.0.1:${await freePort()}/postgres` }, 'DATABASE_URL', /cannot reach PostgreSQL at 127\.0\.0\.1:\d+ \(ECONNREFUSED\): start PostgreSQL/);
    const skip = await skipUnlessPostgres();
    if (skip) return t.skip(skip);
    const url = new URL(PG_BASE_URL);
    url.pathname = '/gatehouse_no_such_database';
    await refuses({ DATABASE_URL: url.href }, 'DATABASE_URL', /database "gatehouse_no_such_database" does not exist .*createdb gatehouse_no_such_database/);
  });

  it('a DATA_DIR that cannot be created, with and without a generated secret', async () => {
    const file = path.join(data.dir, 'a-file');
    writeFileSync(file, '');
    await refuses({ DATA_DIR: path.join(file, 'data') }, 'DATA_DIR', /cannot create or write .*a-file\/data \(ENOTDIR\)/);
    await refuses({ DATA_DIR: path.join(file, 'data'), GATEHOUSE_SECRET: '' }, 'DATA_DIR', /cannot create or write/);
  });

  it('a Redis that does not answer: refuses to start instead of answering 503 to every Bearer request', async () => {
    await refuses({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` }, 'REDIS_URL', /Redis at 127\.0\.0\.1:\d+ does not answer .*start Redis, correct REDIS_URL, or unset it/);
  });

  it('a PORT already in use', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      await refuses({ PORT: String((taken.address() as { port: number }).port) }, 'PORT', /already in use/);
    } finally {
      taken.close();
    }
  });

  it('production without SMTP_URL or METRICS_TOKEN', async () => {
    const prod = { NODE_ENV: 'production', PUBLIC_URL: 'https://auth.example.com', METRICS_TOKEN: 'metrics-token-0123456789' };
    await refuses(prod, 'SMTP_URL', /MAIL_OUTBOX=true/);
    await refuses({ ...prod, MAIL_OUTBOX: 'true', METRICS_TOKEN: '' }, 'METRICS_TOKEN', /METRICS=off/);
  });
});

describe('the ready line', () => {
  it('says sharedState postgres on PostgreSQL without Redis, and how /metrics is guarded', async (t) => {
    const skip = await skipUnlessPostgres();
    if (skip) return t.skip(skip);
    const database = await createTestDatabase();
    try {
      const result = await serve({ DATABASE_URL: database.url, METRICS_TOKEN: 'metrics-token-0123456789' });
      assert.ok(result.ready, result.stderr);
      const line = JSON.parse(result.stdout.split('\n').find((l) => l.includes('gatehouse ready'))!);
      assert.equal(line.storage, 'postgres');
      assert.equal(line.sharedState, 'postgres');
      assert.equal(line.metrics, '/metrics with METRICS_TOKEN');
      assert.equal(result.code, 0);
    } finally {
      await database.drop();
    }
  });
});
