// IdentityStore contract (accounts at OAuth / OIDC providers linked to users), on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachBackend } from './backends.ts';
import { anIdentity, createUser, T0, unique } from './fixtures.ts';

describeEachBackend('IdentityStore', (backend) => {
  it('link stores the identity and find reads it back whole; an unknown one is null', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const verified = anIdentity(u.id, { provider: 'google', emailVerified: true, createdAt: T0 + 5 });
    const unverified = anIdentity(u.id, { provider: 'github', email: null, emailVerified: false });
    assert.equal(await stores.identities.link(verified), true);
    assert.equal(await stores.identities.link(unverified), true);
    assert.deepEqual(await stores.identities.find('google', verified.subject), verified);
    assert.deepEqual(await stores.identities.find('github', unverified.subject), unverified);
    assert.equal(await stores.identities.find('github', verified.subject), null, 'a subject belongs to its provider');
    assert.equal(await stores.identities.find('google', unique('nobody')), null);
  });

  it('link is false when the (provider, subject) is already linked, to anyone, and keeps the first link', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const intruder = await createUser(stores);
    const identity = anIdentity(u.id, { provider: 'github' });
    assert.equal(await stores.identities.link(identity), true);
    assert.equal(await stores.identities.link({ ...identity, userId: intruder.id, email: 'other@example.com' }), false);
    assert.equal(await stores.identities.link(identity), false);
    assert.deepEqual(await stores.identities.find('github', identity.subject), identity);
    assert.deepEqual(await stores.identities.listByUser(intruder.id), []);
    assert.equal(await stores.identities.link({ ...identity, provider: 'gitlab' }), true, 'the same subject at another provider is another account');
  });

  it('link is true for exactly one of concurrent links of one account', async () => {
    const { stores } = backend();
    const users = await Promise.all(Array.from({ length: 5 }, () => createUser(stores)));
    const subject = unique('sub');
    const results = await Promise.all(users.map((u) => stores.identities.link(anIdentity(u.id, { subject }))));
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal((await stores.identities.find('github', subject))!.userId, users[results.indexOf(true)]!.id);
  });

  it('updateProfile records the provider\'s latest e-mail and verification, for that identity only', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const identity = anIdentity(u.id, { email: 'old@example.com', emailVerified: true });
    const sibling = anIdentity(u.id, { provider: 'google' });
    await stores.identities.link(identity);
    await stores.identities.link(sibling);
    await stores.identities.updateProfile(identity.provider, identity.subject, 'new@example.com', false);
    assert.deepEqual(await stores.identities.find(identity.provider, identity.subject), { ...identity, email: 'new@example.com', emailVerified: false });
    await stores.identities.updateProfile(identity.provider, identity.subject, null, true);
    assert.deepEqual(await stores.identities.find(identity.provider, identity.subject), { ...identity, email: null, emailVerified: true });
    assert.deepEqual(await stores.identities.find(sibling.provider, sibling.subject), sibling);
  });

  it('listByUser lists the user\'s identities oldest first, by provider within one instant', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const other = await createUser(stores);
    const late = anIdentity(u.id, { provider: 'apple', createdAt: T0 + 2 });
    const early = anIdentity(u.id, { provider: 'zoom', createdAt: T0 });
    const sameTimeB = anIdentity(u.id, { provider: 'google', createdAt: T0 + 1 });
    const sameTimeA = anIdentity(u.id, { provider: 'github', createdAt: T0 + 1 });
    for (const i of [late, early, sameTimeB, sameTimeA, anIdentity(other.id)]) await stores.identities.link(i);
    assert.deepEqual(await stores.identities.listByUser(u.id), [early, sameTimeA, sameTimeB, late]);
    assert.deepEqual(await stores.identities.listByUser((await createUser(stores)).id), []);
  });

  it('deleteByProvider removes the user\'s identities at that provider and says how many', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const other = await createUser(stores);
    const [g1, g2, gl] = [anIdentity(u.id, { provider: 'github' }), anIdentity(u.id, { provider: 'github' }), anIdentity(u.id, { provider: 'gitlab' })];
    const theirs = anIdentity(other.id, { provider: 'github' });
    for (const i of [g1, g2, gl, theirs]) await stores.identities.link(i);
    assert.equal(await stores.identities.deleteByProvider(u.id, 'github'), 2);
    assert.deepEqual(await stores.identities.listByUser(u.id), [gl]);
    assert.deepEqual(await stores.identities.find('github', theirs.subject), theirs, 'another user\'s link stays');
    assert.equal(await stores.identities.deleteByProvider(u.id, 'github'), 0);
    assert.equal(await stores.identities.deleteByProvider(u.id, 'google'), 0);
  });
});
