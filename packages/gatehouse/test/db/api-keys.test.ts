// ApiKeyStore contract, on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { uuidv7 } from '../../src/crypto/random.ts';
import { describeEachBackend } from './backends.ts';
import { anApiKey, createUser, DAY, T0, unique } from './fixtures.ts';

describeEachBackend('ApiKeyStore', (backend) => {
  it('create stores the key unused and unrevoked; findByPrefix reads it back whole', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const key = anApiKey(u.id, { expiresAt: T0 + DAY, scopes: ['read:users', 'admin'] });
    await stores.apiKeys.create(key);
    assert.deepEqual(await stores.apiKeys.findByPrefix(key.prefix), key);
    const bare = anApiKey(u.id, { scopes: [] });
    // What the store is given for last use and revocation does not matter: a new key has neither.
    await stores.apiKeys.create({ ...bare, lastUsedAt: T0 + 1, revokedAt: T0 + 1 });
    assert.deepEqual(await stores.apiKeys.findByPrefix(bare.prefix), bare, 'no scopes is an empty list');
    assert.equal(await stores.apiKeys.findByPrefix(unique('nope')), null);
  });

  it('a prefix names one key: a second key with the same prefix is refused', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const key = anApiKey(u.id);
    await stores.apiKeys.create(key);
    await assert.rejects(stores.apiKeys.create(anApiKey(u.id, { prefix: key.prefix })));
    assert.deepEqual(await stores.apiKeys.findByPrefix(key.prefix), key);
  });

  it('listLive and countLive see the user\'s unrevoked keys that have not expired, newest first', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const other = await createUser(stores);
    const forever = anApiKey(u.id, { createdAt: T0 });
    const expiring = anApiKey(u.id, { createdAt: T0 + 1, expiresAt: T0 + DAY });
    const revoked = anApiKey(u.id, { createdAt: T0 + 2 });
    const expired = anApiKey(u.id, { createdAt: T0 + 3, expiresAt: T0 + 10 });
    for (const k of [forever, expiring, revoked, expired, anApiKey(other.id)]) await stores.apiKeys.create(k);
    await stores.apiKeys.revoke(u.id, revoked.id, T0 + 5);
    assert.deepEqual(await stores.apiKeys.listLive(u.id, T0 + 20), [expiring, forever]);
    assert.equal(await stores.apiKeys.countLive(u.id, T0 + 20), 2);
    assert.deepEqual((await stores.apiKeys.listLive(u.id, T0 + DAY)).map((k) => k.id), [forever.id], 'a key is over at its expiry instant');
    assert.equal(await stores.apiKeys.countLive(u.id, T0 + DAY), 1);
    assert.deepEqual(await stores.apiKeys.listLive((await createUser(stores)).id, T0), []);
    assert.equal(await stores.apiKeys.countLive((await createUser(stores)).id, T0), 0);
  });

  it('revoke revokes only the owner\'s live key, once', async () => {
    const { stores } = backend();
    const owner = await createUser(stores);
    const stranger = await createUser(stores);
    const key = anApiKey(owner.id);
    await stores.apiKeys.create(key);
    assert.equal(await stores.apiKeys.revoke(stranger.id, key.id, T0 + 1), false, 'not theirs');
    assert.equal((await stores.apiKeys.findByPrefix(key.prefix))!.revokedAt, null);
    assert.equal(await stores.apiKeys.revoke(owner.id, key.id, T0 + 2), true);
    assert.equal(await stores.apiKeys.revoke(owner.id, key.id, T0 + 3), false, 'already revoked');
    assert.equal(await stores.apiKeys.revoke(owner.id, uuidv7(T0), T0 + 3), false);
    assert.deepEqual(await stores.apiKeys.findByPrefix(key.prefix), { ...key, revokedAt: T0 + 2 }, 'the first revocation time is kept');
  });

  it('touch records the last use of that key only', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const key = anApiKey(u.id);
    const sibling = anApiKey(u.id);
    await stores.apiKeys.create(key);
    await stores.apiKeys.create(sibling);
    await stores.apiKeys.touch(key.id, T0 + 7);
    assert.deepEqual(await stores.apiKeys.findByPrefix(key.prefix), { ...key, lastUsedAt: T0 + 7 });
    await stores.apiKeys.touch(key.id, T0 + 8);
    assert.equal((await stores.apiKeys.findByPrefix(key.prefix))!.lastUsedAt, T0 + 8);
    assert.equal((await stores.apiKeys.findByPrefix(sibling.prefix))!.lastUsedAt, null);
  });
});
