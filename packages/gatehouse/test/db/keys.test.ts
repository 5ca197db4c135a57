// KeyStore contract (the signing keys behind the key ring), on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { beforeEach, it } from 'node:test';
import type { SigningKeyRecord } from '../../src/crypto/keys.ts';
import { SqlKeyStore } from '../../src/db/key-store.ts';
import { describeEachBackend } from './backends.ts';
import { T0, unique } from './fixtures.ts';

function aKey(createdAt: number): SigningKeyRecord {
  const kid = unique('kid');
  return { kid, alg: 'EdDSA', publicJwk: { kty: 'OKP', crv: 'Ed25519', x: unique('x'), kid, alg: 'EdDSA', use: 'sig' }, privateKey: `v1.${unique('sealed')}`, createdAt, retiredAt: null };
}

describeEachBackend('KeyStore', (backend) => {
  const keys = () => new SqlKeyStore(backend().db);
  beforeEach(() => backend().truncate('signing_keys'));

  it('insertAndRetireOthers adds a live key that list reads back whole', async () => {
    assert.deepEqual(await keys().list(), []);
    const key = aKey(T0);
    await keys().insertAndRetireOthers(key, T0);
    assert.deepEqual(await keys().list(), [key]);
  });

  it('insertAndRetireOthers retires every other live key at `now`, keeps earlier retirements, and list is oldest first', async () => {
    const [a, b, c] = [aKey(T0), aKey(T0 + 10), aKey(T0 + 20)];
    await keys().insertAndRetireOthers(a, T0);
    await keys().insertAndRetireOthers(b, T0 + 10);
    await keys().insertAndRetireOthers(c, T0 + 20);
    assert.deepEqual(await keys().list(), [
      { ...a, retiredAt: T0 + 10 },
      { ...b, retiredAt: T0 + 20 },
      c,
    ]);
  });

  it('insertAndRetireOthers is one step: a key that cannot be inserted retires nothing', async () => {
    const a = aKey(T0);
    await keys().insertAndRetireOthers(a, T0);
    await assert.rejects(keys().insertAndRetireOthers({ ...aKey(T0 + 1), kid: a.kid }, T0 + 1));
    assert.deepEqual(await keys().list(), [a], 'the live key stays live');
  });

  it('deleteRetiredBefore deletes keys retired before the instant, never a live one, and says how many', async () => {
    const [a, b, c, d] = [aKey(T0), aKey(T0 + 10), aKey(T0 + 20), aKey(T0 + 30)];
    for (const k of [a, b, c, d]) await keys().insertAndRetireOthers(k, k.createdAt);
    // Retired: a at T0+10, b at T0+20, c at T0+30; d is live.
    assert.equal(await keys().deleteRetiredBefore(T0 + 20), 1);
    assert.deepEqual((await keys().list()).map((k) => k.kid), [b.kid, c.kid, d.kid], 'retired at the instant stays');
    assert.equal(await keys().deleteRetiredBefore(T0 + 1000), 2);
    assert.deepEqual(await keys().list(), [d]);
    assert.equal(await keys().deleteRetiredBefore(T0 + 1000), 0);
  });

  it('instances rotating at once, as when several start on an empty table, leave one live key', async () => {
    await Promise.all(Array.from({ length: 8 }, (_, i) => keys().insertAndRetireOthers(aKey(T0 + i), T0 + i)));
    const all = await keys().list();
    assert.equal(all.length, 8);
    assert.equal(all.filter((k) => k.retiredAt === null).length, 1);
  });
});
