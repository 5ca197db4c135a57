// Maintenance deletes the provider's expired rows (codes, tokens, sessions, interactions, grants past their
// expiry) in batches, and keeps live ones and those without an expiry.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqlBackchannelStore } from '../../src/db/backchannel-store.ts';
import { SqlOidcPayloadStore } from '../../src/db/oidc-store.ts';
import { DEAD_BACKCHANNEL_RETENTION_MS, runMaintenance, SENT_BACKCHANNEL_RETENTION_MS } from '../../src/maintenance.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { skipUnlessPostgres } from '../helpers/backends.ts';

const T0 = Date.UTC(2030, 0, 1);

describe('maintenance: oidc_payloads', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ fakeClock: T0 });
  });
  after(async () => {
    await server.close();
  });

  it('deletes expired rows of every kind, batch after batch, and keeps the rest', async () => {
    const store = new SqlOidcPayloadStore(server.runtime.database.db);
    for (let i = 0; i < 7; i++) {
      await store.upsert('AccessToken', `gone-${i}`, { jti: `gone-${i}` }, T0 + 1000);
      await store.upsert('Session', `gone-${i}`, { jti: `gone-${i}` }, T0 + 1000);
    }
    await store.upsert('AccessToken', 'live', { jti: 'live' }, T0 + 3_600_000);
    await store.upsert('Grant', 'forever', { jti: 'forever' }, null);
    server.clock!.advance(2000);
    const result = await runMaintenance({ db: server.runtime.database.db, dialect: server.runtime.database.dialect, config: server.config, now: server.clock!.now, batchSize: 3 });
    assert.equal(result.status, 'done');
    assert.equal(result.deleted.oidc_payloads, 14);
    const now = server.clock!.now;
    assert.ok(await store.find('AccessToken', 'live', now));
    assert.ok(await store.find('Grant', 'forever', now));
    const left = await server.runtime.database.db.selectFrom('oidc_payloads' as never).select('id' as never).execute();
    assert.equal(left.length, 2);
  });
});

// Delivered logout tokens are kept a day, given-up ones a week (as the mail queue's rows); pending ones stay
// whatever their age, since the worker still owns them.
async function backchannelRowsGo(server: TestServer) {
  const { db, dialect } = server.runtime.database;
  const queue = new SqlBackchannelStore(db, dialect);
  const maintain = () => runMaintenance({ db, dialect, config: server.config, now: server.clock!.now, batchSize: 2 });
  const enqueue = () => queue.enqueue({ clientId: 'c', uri: 'http://127.0.0.1:9/bc', token: 'x' }, server.clock!.now);
  const sent = [await enqueue(), await enqueue(), await enqueue()];
  for (const id of sent) await queue.markSent(id, server.clock!.now);
  const dead = await enqueue();
  await queue.markDead(dead, 'HTTP 503');
  const pending = await enqueue();
  const statuses = async () => Object.fromEntries((await queue.list()).map((row) => [row.id, row.status]));

  assert.equal((await maintain()).deleted.backchannel_logouts, 0, 'nothing is old enough yet');
  server.clock!.advance(SENT_BACKCHANNEL_RETENTION_MS + 1);
  assert.equal((await maintain()).deleted.backchannel_logouts, 3, 'delivered rows go after a day, batch after batch');
  assert.deepEqual(await statuses(), { [dead]: 'dead', [pending]: 'pending' });
  server.clock!.advance(DEAD_BACKCHANNEL_RETENTION_MS);
  assert.equal((await maintain()).deleted.backchannel_logouts, 1, 'a given-up row goes after a week');
  assert.deepEqual(await statuses(), { [pending]: 'pending' }, 'a pending row is never deleted: the worker still has it');
}

describe('maintenance: backchannel_logouts', () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const server of servers) await server.close();
  });

  it('deletes delivered rows after a day and given-up rows after a week, never pending ones (SQLite)', async () => {
    const server = await startTestServer({ fakeClock: T0 });
    servers.push(server);
    await backchannelRowsGo(server);
  });

  it('does the same on PostgreSQL', async (t) => {
    const skip = await skipUnlessPostgres();
    if (skip) return t.skip(skip);
    const server = await startTestServer({ postgres: true, fakeClock: T0 });
    servers.push(server);
    await backchannelRowsGo(server);
  });
});
