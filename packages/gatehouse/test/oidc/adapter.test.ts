// oidc-provider's storage adapter over the database (one suite, run on SQLite and PostgreSQL).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SqlOidcClientStore, SqlOidcPayloadStore } from '../../src/db/oidc-store.ts';
import { adapterFactory } from '../../src/oidc/adapter.ts';
import { createClient } from '../../src/oidc/clients.ts';
import { describeEachBackend } from '../db/backends.ts';

const T0 = 1_800_000_000_000;

describeEachBackend('oidc-provider adapter', (backend) => {
  function adapters() {
    const clock = { now: T0 };
    const { db } = backend();
    const factory = adapterFactory({ payloads: new SqlOidcPayloadStore(db), clients: new SqlOidcClientStore(db), now: () => clock.now });
    return { clock, factory, clients: new SqlOidcClientStore(db) };
  }

  it('upsert then find returns the payload; upsert again replaces it; find after expiry is undefined', async () => {
    const { clock, factory } = adapters();
    const codes = factory('AuthorizationCode');
    await codes.upsert('c1', { grantId: 'g1', accountId: 'u1', kind: 'AuthorizationCode', jti: 'c1' }, 60);
    assert.deepEqual(await codes.find('c1'), { grantId: 'g1', accountId: 'u1', kind: 'AuthorizationCode', jti: 'c1' });
    await codes.upsert('c1', { grantId: 'g1', accountId: 'u1', kind: 'AuthorizationCode', jti: 'c1', scope: 'openid' }, 60);
    assert.equal((await codes.find('c1'))?.scope, 'openid');
    assert.equal(await factory('AccessToken').find('c1'), undefined, 'kinds do not share ids');
    clock.now += 60_001;
    assert.equal(await codes.find('c1'), undefined);
  });

  it('consume marks the payload consumed (epoch seconds) and keeps it findable', async () => {
    const { factory } = adapters();
    const codes = factory('AuthorizationCode');
    await codes.upsert('c2', { grantId: 'g2' }, 60);
    await codes.consume('c2');
    assert.equal((await codes.find('c2'))?.consumed, Math.floor(T0 / 1000));
  });

  it('findByUid finds a session by its uid; findByUserCode a device code by its user code', async () => {
    const { factory } = adapters();
    await factory('Session').upsert('s1', { uid: 'uid-1', accountId: 'u1' }, 3600);
    assert.equal((await factory('Session').findByUid('uid-1'))?.accountId, 'u1');
    assert.equal(await factory('Session').findByUid('uid-2'), undefined);
    await factory('DeviceCode').upsert('d1', { userCode: 'ABCD-EFGH', grantId: 'g' }, 600);
    assert.equal((await factory('DeviceCode').findByUserCode('ABCD-EFGH'))?.grantId, 'g');
  });

  it('destroy deletes one; revokeByGrantId deletes every instance of that kind of the grant', async () => {
    const { factory } = adapters();
    const tokens = factory('AccessToken');
    const refresh = factory('RefreshToken');
    await tokens.upsert('a1', { grantId: 'g3' }, 60);
    await tokens.upsert('a2', { grantId: 'g3' }, 60);
    await tokens.upsert('a3', { grantId: 'other' }, 60);
    await refresh.upsert('r1', { grantId: 'g3' }, 60);
    await tokens.destroy('a1');
    assert.equal(await tokens.find('a1'), undefined);
    await tokens.revokeByGrantId('g3');
    assert.equal(await tokens.find('a2'), undefined);
    assert.ok(await tokens.find('a3'));
    assert.ok(await refresh.find('r1'), 'another kind is revoked by its own adapter');
    await refresh.revokeByGrantId('g3');
    assert.equal(await refresh.find('r1'), undefined);
  });

  it('a payload without expiry stays until destroyed', async () => {
    const { clock, factory } = adapters();
    await factory('Grant').upsert('g4', { accountId: 'u1', clientId: 'c' }, 0);
    clock.now += 10 * 365 * 86_400_000;
    assert.ok(await factory('Grant').find('g4'));
  });

  it('the Client kind reads registered clients, with the secret only as its hash, and refuses writes', async () => {
    const { factory, clients } = adapters();
    const { client, secret } = await createClient({ clients, now: () => T0 }, { name: 'App', redirectUris: ['https://app.example/cb'] });
    const found = (await factory('Client').find(client.clientId)) as Record<string, unknown>;
    assert.equal(found.client_id, client.clientId);
    assert.equal(found.client_secret, client.secretHash);
    assert.notEqual(found.client_secret, secret);
    assert.deepEqual(found.redirect_uris, ['https://app.example/cb']);
    assert.equal(await factory('Client').find('nope'), undefined);
    await assert.rejects(factory('Client').upsert('x', {}, 0));
  });
});
