// Attack catalogue for @gatehouse/verify: forged, tampered and misused tokens against verifyAccessToken,
// the Express requireAuth middleware and the Fastify plugin. Keys come from a JWKS served on loopback (an
// issuer of our own, so every claim can be signed wrong on purpose) and from a real Gatehouse (its tokens,
// its published key for algorithm confusion, its refresh token). A second loopback server holds the
// attacker's JWKS and counts every request: a token that names it by jku/x5u must never make us fetch it.
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { createVerifier, VerifyError, type Verifier } from '../src/index.ts';
import { requireAuth } from '../src/express.ts';
import { gatehouseAuth } from '../src/fastify.ts';
import { b64, hs256, signWith } from './helpers/forge.ts';
import { signUp, startGatehouse, type Gatehouse } from './helpers/gatehouse.ts';

const ISSUER = 'https://auth.security.test';
const AUDIENCE = 'https://api.security.test';

async function jwksServer(body: () => unknown): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const ours = generateKeyPairSync('rsa', { modulusLength: 2048 });
const OUR_KID = `our-${randomUUID()}`;
const ourJwk = { ...ours.publicKey.export({ format: 'jwk' }), kid: OUR_KID, alg: 'RS256', use: 'sig' };
const ourPem = ours.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ATTACKER_KID = 'attacker-key';
const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: ATTACKER_KID, alg: 'RS256', use: 'sig' };

let legit: Awaited<ReturnType<typeof jwksServer>>;
let evil: Awaited<ReturnType<typeof jwksServer>>;
let gatehouse: Gatehouse;
let real: { accessToken: string; refreshToken: string };
let gatehousePem: string;
let gatehouseJwk: Record<string, unknown>;
let ownVerifier: Verifier;
let gatehouseVerifier: Verifier;

const header = () => ({ alg: 'RS256', kid: OUR_KID, typ: 'at+jwt' });
const claims = (overrides: Record<string, unknown> = {}) => {
  const iat = Math.floor(Date.now() / 1000);
  return { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', sid: 'session-1', jti: randomUUID(), role: 'user', iat, exp: iat + 900, ...overrides };
};
const signOurs = (h: Record<string, unknown>, p: Record<string, unknown>) => signWith('RS256', ours.privateKey, h, p);
const signAttacker = (h: Record<string, unknown>, p: Record<string, unknown>) => signWith('RS256', attacker.privateKey, h, p);

before(async () => {
  legit = await jwksServer(() => ({ keys: [ourJwk] }));
  evil = await jwksServer(() => ({ keys: [attackerJwk, { ...attackerJwk, kid: OUR_KID }] }));
  ownVerifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: `${legit.url}/.well-known/jwks.json`, cooldownMs: 0 });
  gatehouse = await startGatehouse();
  real = await signUp(gatehouse);
  gatehouseJwk = ((await (await fetch(gatehouse.jwksUrl)).json()) as { keys: Array<Record<string, unknown>> }).keys[0]!;
  gatehousePem = createPublicKey({ key: gatehouseJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  gatehouseVerifier = createVerifier({ issuer: gatehouse.issuer, audience: gatehouse.issuer, jwksUrl: gatehouse.jwksUrl });
});
after(async () => {
  await gatehouse?.close();
  await legit?.close();
  await evil?.close();
});

type Case = [what: string, verifier: () => Verifier, token: () => string, code: 'invalid_token' | 'token_expired'];

function cases(): Case[] {
  const own = () => ownVerifier;
  const gh = () => gatehouseVerifier;
  const good = () => signOurs(header(), claims());
  const split = (t: string) => t.split('.') as [string, string, string];
  const now = Math.floor(Date.now() / 1000);
  const realParts = () => split(real.accessToken);
  const realHeader = () => JSON.parse(Buffer.from(realParts()[0], 'base64url').toString());
  const realPayload = () => JSON.parse(Buffer.from(realParts()[1], 'base64url').toString());
  const admin = () => ({ ...realPayload(), role: 'admin' });
  return [
    // Algorithm confusion, against a real Gatehouse's published key
    ['alg none', gh, () => `${b64({ ...realHeader(), alg: 'none' })}.${b64(admin())}.`, 'invalid_token'],
    ['alg none with the old signature kept', gh, () => `${b64({ ...realHeader(), alg: 'none' })}.${b64(admin())}.${realParts()[2]}`, 'invalid_token'],
    ['HS256 keyed with the RS public key as PEM', gh, () => hs256(gatehousePem, { ...realHeader(), alg: 'HS256' }, admin()), 'invalid_token'],
    ['HS256 keyed with the public JWK as JSON bytes', gh, () => hs256(JSON.stringify(gatehouseJwk), { ...realHeader(), alg: 'HS256' }, admin()), 'invalid_token'],
    ['HS256 keyed with our own PEM', own, () => hs256(ourPem, { ...header(), alg: 'HS256' }, claims({ role: 'admin' })), 'invalid_token'],
    ['RS512 header over an RS256 signature', gh, () => `${b64({ ...realHeader(), alg: 'RS512' })}.${realParts()[1]}.${realParts()[2]}`, 'invalid_token'],
    // Signatures
    ['signature stripped', gh, () => `${realParts()[0]}.${realParts()[1]}.`, 'invalid_token'],
    ['payload tampered (role admin)', gh, () => `${realParts()[0]}.${b64(admin())}.${realParts()[2]}`, 'invalid_token'],
    ['header tampered (typ JWT)', gh, () => `${b64({ ...realHeader(), typ: 'JWT' })}.${realParts()[1]}.${realParts()[2]}`, 'invalid_token'],
    ['header tampered (extra field)', gh, () => `${b64({ ...realHeader(), x: 1 })}.${realParts()[1]}.${realParts()[2]}`, 'invalid_token'],
    ['signature tampered', gh, () => `${realParts()[0]}.${realParts()[1]}.${(realParts()[2][0] === 'A' ? 'B' : 'A') + realParts()[2].slice(1)}`, 'invalid_token'],
    ['signature truncated', gh, () => `${realParts()[0]}.${realParts()[1]}.${realParts()[2].slice(0, -8)}`, 'invalid_token'],
    ['signed by the attacker under the real kid', gh, () => signAttacker(realHeader(), admin()), 'invalid_token'],
    // Key selection
    ['unknown kid', own, () => signAttacker({ ...header(), kid: ATTACKER_KID }, claims()), 'invalid_token'],
    ['no kid', own, () => signAttacker({ alg: 'RS256', typ: 'at+jwt' }, claims()), 'invalid_token'],
    ['path-like kid ../../etc/passwd', own, () => signAttacker({ ...header(), kid: '../../etc/passwd' }, claims()), 'invalid_token'],
    ["SQL-like kid ' or 1=1", own, () => signAttacker({ ...header(), kid: "' or 1=1" }, claims()), 'invalid_token'],
    ['kid __proto__', own, () => signAttacker({ ...header(), kid: '__proto__' }, claims()), 'invalid_token'],
    ['kid constructor', own, () => signAttacker({ ...header(), kid: 'constructor' }, claims()), 'invalid_token'],
    ['kid an object', own, () => signAttacker({ ...header(), kid: { $ne: 1 } }, claims()), 'invalid_token'],
    // Keys named by the token
    ['jku to the attacker, attacker kid', own, () => signAttacker({ ...header(), kid: ATTACKER_KID, jku: `${evil.url}/jwks.json` }, claims()), 'invalid_token'],
    ['jku to the attacker, our kid', own, () => signAttacker({ ...header(), jku: `${evil.url}/jwks.json` }, claims()), 'invalid_token'],
    ['x5u to the attacker', own, () => signAttacker({ ...header(), kid: ATTACKER_KID, x5u: `${evil.url}/cert.pem` }, claims()), 'invalid_token'],
    ['embedded jwk, attacker kid', own, () => signAttacker({ ...header(), kid: ATTACKER_KID, jwk: attackerJwk }, claims()), 'invalid_token'],
    ['embedded jwk, our kid', own, () => signAttacker({ ...header(), jwk: { ...attackerJwk, kid: OUR_KID } }, claims()), 'invalid_token'],
    ['embedded jwk, no kid', own, () => signAttacker({ alg: 'RS256', typ: 'at+jwt', jwk: attackerJwk }, claims()), 'invalid_token'],
    ['crit extension', own, () => signOurs({ ...header(), crit: ['exp2'], exp2: 1 }, claims()), 'invalid_token'],
    // Claims, with a genuine signature
    ['wrong iss', own, () => signOurs(header(), claims({ iss: 'https://evil.test' })), 'invalid_token'],
    ['iss with a trailing slash', own, () => signOurs(header(), claims({ iss: `${ISSUER}/` })), 'invalid_token'],
    ['no iss', own, () => signOurs(header(), claims({ iss: undefined })), 'invalid_token'],
    ['wrong aud', own, () => signOurs(header(), claims({ aud: 'https://other.test' })), 'invalid_token'],
    ['aud array without ours', own, () => signOurs(header(), claims({ aud: ['https://other.test', `${AUDIENCE}/`] })), 'invalid_token'],
    ['no aud', own, () => signOurs(header(), claims({ aud: undefined })), 'invalid_token'],
    ['typ JWT', own, () => signOurs({ ...header(), typ: 'JWT' }, claims()), 'invalid_token'],
    ['no typ', own, () => signOurs({ alg: 'RS256', kid: OUR_KID }, claims()), 'invalid_token'],
    ['nbf an hour ahead', own, () => signOurs(header(), claims({ nbf: now + 3600 })), 'invalid_token'],
    ['nbf a string', own, () => signOurs(header(), claims({ nbf: 'soon' })), 'invalid_token'],
    ['expired', own, () => signOurs(header(), claims({ iat: now - 7200, exp: now - 3600 })), 'token_expired'],
    ['exp a string', own, () => signOurs(header(), claims({ exp: String(now + 600) })), 'invalid_token'],
    ['no exp', own, () => signOurs(header(), claims({ exp: undefined })), 'invalid_token'],
    ['no sub', own, () => signOurs(header(), claims({ sub: undefined })), 'invalid_token'],
    // Shape
    ['100 KB token', own, () => `${split(good())[0]}.${b64(claims({ pad: 'x'.repeat(100 * 1024) }))}.${split(good())[2]}`, 'invalid_token'],
    ['bad base64', own, () => `${split(good())[0]}.%%%.${split(good())[2]}`, 'invalid_token'],
    ['two segments', own, () => split(good()).slice(0, 2).join('.'), 'invalid_token'],
    ['four segments', own, () => `${good()}.${split(good())[2]}`, 'invalid_token'],
    ['header not JSON', own, () => `${b64('not json')}.${split(good())[1]}.${split(good())[2]}`, 'invalid_token'],
    ['header a JSON array', own, () => `${b64([1])}.${split(good())[1]}.${split(good())[2]}`, 'invalid_token'],
    ['payload not JSON', own, () => `${split(good())[0]}.${b64('{"sub":')}.${split(good())[2]}`, 'invalid_token'],
    ['empty string', own, () => '', 'invalid_token'],
    // Another kind of token
    ["Gatehouse's refresh token", gh, () => real.refreshToken, 'invalid_token'],
    ['an access token for another issuer (a real Gatehouse token at our verifier)', own, () => real.accessToken, 'invalid_token'],
  ];
}

describe('verifyAccessToken', () => {
  it('accepts the genuine tokens, so each refusal below is about its forgery', async () => {
    assert.equal((await gatehouseVerifier.verifyAccessToken(real.accessToken)).sub.length > 0, true);
    assert.equal((await ownVerifier.verifyAccessToken(signOurs(header(), claims()))).sub, 'user-1');
  });

  it('refuses every forgery with a VerifyError carrying the right code', async () => {
    for (const [what, verifier, token, code] of cases()) {
      await assert.rejects(
        verifier().verifyAccessToken(token()),
        (err: unknown) => {
          assert.ok(err instanceof VerifyError, `${what}: ${String(err)}`);
          assert.equal(err.code, code, what);
          assert.equal(err.status, 401, what);
          assert.deepEqual(Object.keys(err.toBody().error).sort(), ['code', 'message']);
          return true;
        },
        what,
      );
    }
  });
});

function expectRefusal(what: string, status: number, body: any, code: string) {
  assert.equal(status, 401, `${what}: ${status} ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(body), ['error'], what);
  assert.equal(body.error.code, code, what);
  assert.equal(typeof body.error.message, 'string', what);
}

describe('Express requireAuth', () => {
  let base: string;
  let close: () => Promise<void>;
  before(async () => {
    const app = express();
    // Two guarded routes on two verifiers; the handler only runs for a verified token.
    app.get('/own', requireAuth(ownVerifier), (req, res) => {
      res.json({ sub: req.auth!.sub });
    });
    app.get('/gatehouse', requireAuth(gatehouseVerifier), (req, res) => {
      res.json({ sub: req.auth!.sub });
    });
    // A 100 KB header is over Node's default limit (431 before Express sees it); raise it to reach the guard.
    const server = createServer({ maxHeaderSize: 256 * 1024 }, app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    };
  });
  after(() => close());

  it('refuses every forgery with 401 and the contract body', async () => {
    assert.equal((await fetch(`${base}/gatehouse`, { headers: { authorization: `Bearer ${real.accessToken}` } })).status, 200);
    for (const [what, verifier, token, code] of cases()) {
      const route = verifier() === ownVerifier ? '/own' : '/gatehouse';
      const value = token();
      const res = await fetch(`${base}${route}`, { headers: { authorization: `Bearer ${value}` } });
      // An empty token makes "Bearer " a malformed header: invalid_token all the same.
      expectRefusal(what, res.status, await res.json(), code);
    }
  });
});

describe('Fastify plugin', () => {
  // One app per verifier: the plugin decorates the instance it is registered on.
  const apps = new Map<Verifier, FastifyInstance>();
  before(async () => {
    for (const verifier of [ownVerifier, gatehouseVerifier]) {
      const app = Fastify();
      await app.register(gatehouseAuth, { verifier });
      app.get('/guarded', { preHandler: app.requireAuth }, async (request) => ({ sub: request.auth!.sub }));
      await app.ready();
      apps.set(verifier, app);
    }
  });
  after(async () => {
    for (const app of apps.values()) await app.close();
  });

  it('refuses every forgery with 401 and the contract body', async () => {
    const genuine = await apps.get(gatehouseVerifier)!.inject({ method: 'GET', url: '/guarded', headers: { authorization: `Bearer ${real.accessToken}` } });
    assert.equal(genuine.statusCode, 200);
    for (const [what, verifier, token, code] of cases()) {
      const res = await apps.get(verifier())!.inject({ method: 'GET', url: '/guarded', headers: { authorization: `Bearer ${token()}` } });
      expectRefusal(what, res.statusCode, res.json(), code);
    }
  });
});

describe('keys named by a token', () => {
  it('the attacker JWKS server was never contacted, though it is reachable', async () => {
    assert.deepEqual(evil.hits, []);
    assert.ok(legit.hits.length >= 1, 'our own JWKS was fetched');
    assert.ok(legit.hits.every((h) => h === '/.well-known/jwks.json'));
    assert.equal((await fetch(`${evil.url}/probe`)).status, 200);
    assert.deepEqual(evil.hits, ['/probe']);
  });
});
