// Maintenance keeps the tables bounded without breaking rotation or reuse detection, and runs on one
// instance at a time when several share PostgreSQL.
import assert from 'node:assert/strict';
import pg from 'pg';
import { after, describe, it } from 'node:test';
import { runMaintenance, sessionRetentionMs, USED_REFRESH_TOKENS_KEPT } from '../src/maintenance.ts';
import { rotateRefreshToken } from '../src/sessions/rotate-refresh-token.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { skipUnlessPostgres } from './helpers/backends.ts';
import { call, expectError, registerUser } from './helpers/http.ts';

const T0 = Date.UTC(2030, 0, 1);
const ROTATIONS = 3000;

const maintain = (server: TestServer) =>
  runMaintenance({ db: server.runtime.database.db, dialect: server.runtime.database.dialect, config: server.config, now: server.clock!.now, batchSize: 200 });

async function count(server: TestServer, table: 'refresh_tokens' | 'sessions'): Promise<number> {
  const row = await server.runtime.database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

async function rotationsStayBounded(server: TestServer) {
  const { body } = await registerUser(server.app);
  const issued: string[] = [body.refreshToken];
  for (let i = 0; i < ROTATIONS; i++) {
    server.clock!.advance(60_000);
    issued.push((await rotateRefreshToken(server.runtime.ctx, issued.at(-1)!)).refreshToken);
    if (i % 500 === 499) assert.equal((await maintain(server)).status, 'done');
  }
  server.clock!.advance(60_000);
  const result = await maintain(server);
  assert.equal(result.status, 'done');
  const rows = await count(server, 'refresh_tokens');
  assert.ok(rows <= USED_REFRESH_TOKENS_KEPT + 1, `refresh_tokens stays bounded after ${ROTATIONS} rotations: ${rows} rows`);

  // Every deletion left rotation and reuse detection working: the current token rotates...
  const current = issued.at(-1)!;
  const next = await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: current } });
  assert.equal(next.statusCode, 200, next.body);
  // ...a token from a few rotations back is still recognised as a replay, and ends the session...
  server.clock!.advance(60_000);
  expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: issued.at(-4)! } }), 401, 'refresh_token_reused');
  expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: next.json().refreshToken } }), 401, 'invalid_refresh_token');
  // ...and a token of a very old rotation, whose row is gone, is refused all the same.
  expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: issued[5]! } }), 401, 'invalid_refresh_token');

  // The ended session's tokens go at once; the session row stays for the retention, then goes too.
  await maintain(server);
  assert.equal(await count(server, 'refresh_tokens'), 0);
  assert.equal(await count(server, 'sessions'), 1, 'a revoked session is kept (revocation restore, the session lists)');
  server.clock!.advance(sessionRetentionMs(server.config) + 1);
  assert.ok((await maintain(server)).deleted.sessions! >= 1);
  assert.equal(await count(server, 'sessions'), 0);
}

describe('maintenance', () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const server of servers) await server.close();
  });

  it(`keeps refresh_tokens bounded over ${ROTATIONS} rotations on SQLite; rotation and reuse detection still work`, async () => {
    const server = await startTestServer({ fakeClock: T0 });
    servers.push(server);
    await rotationsStayBounded(server);
  });

  it(`does the same on PostgreSQL`, async (t) => {
    const skip = await skipUnlessPostgres();
    if (skip) return t.skip(skip);
    const server = await startTestServer({ postgres: true, fakeClock: T0 });
    servers.push(server);
    await rotationsStayBounded(server);
  });

  it('deletes spent one-time tokens, expired shared state, delivered mail and old audit events', async () => {
    const server = await startTestServer({ fakeClock: T0, env: { AUDIT_RETENTION: '30d' } });
    servers.push(server);
    const { db } = server.runtime.database;
    await registerUser(server.app);
    await server.runtime.ctx.background.drain();
    await db.insertInto('shared_state').values({ key: 'x', value: '', count: 0, expires_at: T0 + 1000 }).execute();
    assert.ok((await db.selectFrom('audit_events').select('id').execute()).length > 0);
    assert.equal((await db.selectFrom('mail_queue').select('status').execute())[0]?.status, 'sent');
    server.clock!.advance(31 * 86_400_000);
    const { deleted } = await maintain(server);
    assert.ok(deleted.audit_events! > 0);
    assert.equal(deleted.shared_state, 1);
    assert.equal(deleted.mail_queue, 1);
    assert.equal((await db.selectFrom('audit_events').select('id').execute()).length, 0);
  });

  it('runs on one instance at a time on PostgreSQL: a second run is skipped while the lock is held', async (t) => {
    const skip = await skipUnlessPostgres();
    if (skip) return t.skip(skip);
    const server = await startTestServer({ postgres: true, fakeClock: T0 });
    servers.push(server);
    const other = await startTestServer({ postgres: true, databaseUrl: server.config.databaseUrl!, fakeClock: T0 });
    servers.push(other);
    // Another instance in the middle of a run: it holds the advisory lock on its own connection.
    const holder = new pg.Client({ connectionString: server.config.databaseUrl! });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock(7236101001)');
      assert.deepEqual(await maintain(other), { status: 'skipped', deleted: {} });
      await holder.query('select pg_advisory_unlock(7236101001)');
      assert.equal((await maintain(other)).status, 'done');
      // Two at once: exactly one runs, unless the first finished before the second asked.
      const both = await Promise.all([maintain(server), maintain(other)]);
      assert.ok(both.some((r) => r.status === 'done'));
    } finally {
      await holder.end();
    }
  });
});
