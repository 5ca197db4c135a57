// Maintenance deletes the provider's expired rows (codes, tokens, sessions, interactions, grants past their
// expiry) in batches, and keeps live ones and those without an expiry.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqlOidcPayloadStore } from '../../src/db/oidc-store.ts';
import { runMaintenance } from '../../src/maintenance.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';

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
