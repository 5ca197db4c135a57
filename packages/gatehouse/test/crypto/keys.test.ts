// The key ring on a real SQLite store: private keys sealed at rest, a wrong secret refused with a clear
// message, rotation keeping old tokens verifiable, and retired keys leaving the JWKS once their tokens expire.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SignJWT, decodeProtectedHeader, jwtVerify } from 'jose';
import { openDatabase, type DbHandle } from '../../src/db/connect.ts';
import { SqlKeyStore } from '../../src/db/key-store.ts';
import { migrateToLatest } from '../../src/db/migrations.ts';
import { KeyRing, openPrivateKey, sealPrivateKey } from '../../src/crypto/keys.ts';
import { tempDataDir } from '../helpers/backends.ts';

const SECRET = 'key-ring-test-secret-0123456789-abcdefghijklmnop';
const OTHER_SECRET = 'another-secret-entirely-9876543210-zyxwvutsrqpo';
const TTL = 15 * 60_000;
const MARGIN = 5 * 60_000;

const opened: Array<{ handle: DbHandle; remove(): void }> = [];
after(async () => {
  for (const o of opened) {
    await o.handle.close();
    o.remove();
  }
});

async function store(): Promise<{ store: SqlKeyStore; handle: DbHandle }> {
  const dir = tempDataDir();
  const handle = openDatabase({ databaseUrl: null, dataDir: dir.dir });
  await migrateToLatest(handle.db);
  opened.push({ handle, remove: dir.remove });
  return { store: new SqlKeyStore(handle.db), handle };
}

function ring(keyStore: SqlKeyStore, clock: { now: number }, overrides: Partial<ConstructorParameters<typeof KeyRing>[0]> = {}) {
  return new KeyRing({ store: keyStore, alg: 'ES256', secret: SECRET, jwtSecret: null, accessTokenTtlMs: TTL, now: () => clock.now, ...overrides });
}

async function sign(keys: KeyRing): Promise<string> {
  const { kid, alg, key } = keys.signingKey();
  return new SignJWT({ sub: 'u1' }).setProtectedHeader({ alg, kid }).setIssuedAt().setExpirationTime('15m').sign(key);
}

async function verifies(keys: KeyRing, token: string): Promise<boolean> {
  const { kid, alg } = decodeProtectedHeader(token);
  const key = keys.verificationKey(kid!, alg!);
  if (!key) return false;
  return jwtVerify(token, key, { algorithms: keys.algorithms() }).then(
    () => true,
    () => false,
  );
}

describe('private keys at rest', () => {
  it('are sealed with AES-GCM under GATEHOUSE_SECRET: the stored text holds no key material in clear', async () => {
    const { store: keyStore } = await store();
    await ring(keyStore, { now: Date.now() }).open();
    const [record] = await keyStore.list();
    assert.ok(record);
    assert.doesNotMatch(record.privateKey, /"d"|"kty"/, 'no JWK in clear');
    assert.equal(openPrivateKey(SECRET, record.privateKey).kty, 'EC');
    assert.equal(record.publicJwk.d, undefined, 'the published half has no private part');
  });

  it('cannot be opened with another secret or after tampering', () => {
    const sealed = sealPrivateKey(SECRET, { kty: 'oct', k: 'c2VjcmV0' });
    assert.throws(() => openPrivateKey(OTHER_SECRET, sealed), /GATEHOUSE_SECRET/);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[2]!, 'base64url');
    body[0] = body[0]! ^ 1;
    assert.throws(() => openPrivateKey(SECRET, [parts[0], parts[1], body.toString('base64url'), parts[3]].join('.')), /GATEHOUSE_SECRET/);
    assert.throws(() => openPrivateKey(SECRET, 'v9.a.b.c'), /unknown private key format/);
    // Two seals of one key differ: a fresh IV each time.
    assert.notEqual(sealPrivateKey(SECRET, { kty: 'oct', k: 'c2VjcmV0' }), sealed);
  });

  it('an instance started with the wrong GATEHOUSE_SECRET refuses to start, saying why', async () => {
    const { store: keyStore } = await store();
    await ring(keyStore, { now: Date.now() }).open();
    await assert.rejects(ring(keyStore, { now: Date.now() }, { secret: OTHER_SECRET }).open(), /GATEHOUSE_SECRET/);
  });
});

describe('rotation', () => {
  it('signs with the new key, keeps verifying the old one until its tokens expire, then drops it', async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const { store: keyStore } = await store();
    const keys = await ring(keyStore, clock).open();
    const before = await sign(keys);
    const oldKid = keys.signingKey().kid;

    clock.now += 1000;
    const rotated = await keys.rotate();
    assert.notEqual(rotated.kid, oldKid);
    assert.equal(keys.signingKey().kid, rotated.kid, 'new tokens use the new key');
    assert.ok(await verifies(keys, before), 'a token signed before the rotation still verifies');
    assert.deepEqual(keys.jwks().keys.map((k) => k.kid).sort(), [oldKid, rotated.kid].sort(), 'both are published');

    // Another instance on the same store sees the rotation at its next reload.
    const other = await ring(keyStore, clock).open();
    assert.equal(other.signingKey().kid, rotated.kid);
    assert.ok(await verifies(other, await sign(keys)));

    clock.now += TTL + MARGIN;
    await keys.reload();
    assert.deepEqual(keys.jwks().keys.map((k) => k.kid), [rotated.kid], 'the retired key leaves the JWKS once its tokens have expired');
    assert.equal(await verifies(keys, before), false);

    clock.now += 1000;
    await keys.rotate();
    assert.ok(!(await keyStore.list()).some((r) => r.kid === oldKid), 'and is deleted from the store at the next rotation');
  });

  it('choosing another JWT_ALG makes a key of that algorithm at start; the old one still verifies', async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const { store: keyStore } = await store();
    const es = await ring(keyStore, clock).open();
    const token = await sign(es);
    const ed = await ring(keyStore, clock, { alg: 'EdDSA' }).open();
    assert.equal(ed.signingKey().alg, 'EdDSA');
    assert.ok(await verifies(ed, token));
    assert.deepEqual(ed.algorithms().sort(), ['ES256', 'EdDSA']);
  });

  it('with an activation delay, a new key is published at once but signs only once the delay has passed', async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const { store: keyStore } = await store();
    const keys = await ring(keyStore, clock, { activationDelayMs: 3000 }).open();
    const firstKid = keys.signingKey().kid;
    assert.ok(firstKid, 'the very first key signs at once: there is nothing to wait for');
    const rotated = await keys.rotate();
    assert.ok(keys.jwks().keys.some((k) => k.kid === rotated.kid), 'published at once');
    assert.equal(keys.signingKey().kid, firstKid, 'the old key still signs');
    // Another instance loading the ring now agrees.
    assert.equal((await ring(keyStore, clock, { activationDelayMs: 3000 }).open()).signingKey().kid, firstKid);
    clock.now += 3000;
    assert.equal(keys.signingKey().kid, rotated.kid, 'and the new one takes over when the delay has passed, without a reload');
    assert.ok(await verifies(keys, await sign(keys)));
  });

  it('refuses to rotate HS256, whose key is JWT_SECRET', async () => {
    const { store: keyStore } = await store();
    const hs = await ring(keyStore, { now: Date.now() }, { alg: 'HS256', jwtSecret: 'hs256-secret-0123456789-abcdefghijklmnopqrstu' }).open();
    await assert.rejects(hs.rotate(), /JWT_SECRET/);
    assert.deepEqual(hs.jwks().keys, [], 'a shared secret is never published');
  });
});
