// Client access tokens from Gatehouse's OpenID provider (RFC 8707 resource + RFC 9068 JWT), verified with
// createVerifier({ tokens: 'client', audience: <the API's resource> }) and guarded by requireScope() on Express
// and Fastify, against a real Gatehouse. Session tokens and client tokens never pass for each other.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { createVerifier, VerifyError, type ClientAccessTokenClaims, type Verifier } from '../src/index.ts';
import { expressAuth, requireScope } from '../src/express.ts';
import { gatehouseAuth } from '../src/fastify.ts';
import { clientCredentialsToken, signUp, startGatehouse, type Gatehouse } from './helpers/gatehouse.ts';

const API = 'https://orders.example.com';

describe('client access tokens and requireScope()', () => {
  let gatehouse: Gatehouse;
  let client: { clientId: string; secret: string };
  let verifier: Verifier<ClientAccessTokenClaims>;
  let expressUrl: string;
  let closeExpress: () => Promise<void>;
  let fastify: FastifyInstance;

  before(async () => {
    gatehouse = await startGatehouse();
    // Allowed this API and another (the tests below need a token for another API to show the verifier refuse it).
    client = await gatehouse.registerClient({ name: 'Order worker', grants: ['client_credentials'], resources: [API, 'https://billing.example.com'], scopes: ['orders:read', 'orders:write'] });
    verifier = createVerifier({ issuer: gatehouse.issuer, audience: API, jwksUrl: gatehouse.jwksUrl, tokens: 'client' });
    const app = express();
    const guards = expressAuth(verifier);
    app.get('/orders', requireScope(verifier, 'orders:read'), (req, res) => {
      res.json({ sub: req.auth?.sub, clientId: req.auth?.client_id, scopes: req.auth?.scopes });
    });
    app.post('/orders', guards.requireScope('orders:read', 'orders:write'), (req, res) => {
      res.status(201).json({ scope: req.auth?.scope });
    });
    app.get('/any', guards.requireAuth, (req, res) => {
      res.json({ clientId: req.auth?.client_id });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    expressUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    closeExpress = () => new Promise((resolve) => server.close(() => resolve()));
    fastify = Fastify();
    await fastify.register(gatehouseAuth, { verifier });
    fastify.get('/orders', { preHandler: fastify.requireScope('orders:read') }, async (request) => ({ sub: request.auth?.sub, clientId: request.auth?.client_id, scopes: request.auth?.scopes }));
    fastify.post('/orders', { preHandler: fastify.requireScope('orders:read', 'orders:write') }, async (request, reply) => reply.code(201).send({ scope: request.auth?.scope }));
    await fastify.ready();
  });
  after(async () => {
    await closeExpress?.();
    await fastify?.close();
    await gatehouse?.close();
  });

  async function both(method: 'GET' | 'POST', path: string, token: string | null) {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const viaExpress = await fetch(`${expressUrl}${path}`, { method, headers });
    const viaFastify = await fastify.inject({ method, url: path, headers });
    return [
      { status: viaExpress.status, body: await viaExpress.json(), challenge: viaExpress.headers.get('www-authenticate') },
      { status: viaFastify.statusCode, body: viaFastify.json(), challenge: (viaFastify.headers['www-authenticate'] as string | undefined) ?? null },
    ];
  }

  it('a token for this API with the scope passes; its claims expose client_id, scope and sub (the client under client_credentials)', async () => {
    const token = await clientCredentialsToken(gatehouse, client, { resource: API, scope: 'orders:read' });
    const claims = await verifier.verifyAccessToken(token);
    assert.equal(claims.client_id, client.clientId);
    assert.equal(claims.sub, client.clientId);
    assert.equal(claims.scope, 'orders:read');
    assert.equal(claims.aud, API);
    assert.equal(claims.sid, undefined);
    for (const answer of await both('GET', '/orders', token)) {
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual(answer.body, { sub: client.clientId, clientId: client.clientId, scopes: ['orders:read'] });
    }
  });

  it('a missing scope is 403 forbidden with WWW-Authenticate insufficient_scope naming what is needed', async () => {
    const token = await clientCredentialsToken(gatehouse, client, { resource: API, scope: 'orders:read' });
    for (const answer of await both('POST', '/orders', token)) {
      assert.equal(answer.status, 403, JSON.stringify(answer.body));
      assert.equal(answer.body.error.code, 'forbidden');
      assert.equal(answer.challenge, 'Bearer error="insufficient_scope", scope="orders:read orders:write"');
    }
    const both2 = await clientCredentialsToken(gatehouse, client, { resource: API, scope: 'orders:read orders:write' });
    for (const answer of await both('POST', '/orders', both2)) {
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      assert.deepEqual(answer.body.scope.split(' ').sort(), ['orders:read', 'orders:write']);
    }
  });

  it('a token for another resource, or for the issuer, is invalid_token here (aud)', async () => {
    for (const params of [{ resource: 'https://billing.example.com', scope: 'orders:read' }, { scope: 'orders:read' }] as Array<Record<string, string>>) {
      const token = await clientCredentialsToken(gatehouse, client, params);
      await assert.rejects(verifier.verifyAccessToken(token), (err: VerifyError) => err.code === 'invalid_token' && err.check === 'aud');
      for (const answer of await both('GET', '/orders', token)) {
        assert.equal(answer.status, 401);
        assert.equal(answer.challenge, 'Bearer error="invalid_token"');
      }
    }
  });

  it('no token is 401 authentication_required', async () => {
    for (const answer of await both('GET', '/orders', null)) {
      assert.equal(answer.status, 401);
      assert.equal(answer.body.error.code, 'authentication_required');
    }
  });

  it('session and client tokens never pass for each other, even with the same audience', async () => {
    // A client token with aud = the issuer, which is Gatehouse's own JWT_AUDIENCE.
    const clientToken = await clientCredentialsToken(gatehouse, client, { scope: 'orders:read' });
    const sessions = createVerifier({ issuer: gatehouse.issuer, audience: gatehouse.issuer, jwksUrl: gatehouse.jwksUrl });
    await assert.rejects(sessions.verifyAccessToken(clientToken), (err: VerifyError) => err.code === 'invalid_token' && err.check === 'claims');
    const { accessToken } = await signUp(gatehouse);
    const clients = createVerifier({ issuer: gatehouse.issuer, audience: gatehouse.issuer, jwksUrl: gatehouse.jwksUrl, tokens: 'client' });
    await assert.rejects(clients.verifyAccessToken(accessToken), (err: VerifyError) => err.code === 'invalid_token' && err.check === 'claims');
    // requireScope on a session verifier: a session token has no scope.
    const app = Fastify();
    await app.register(gatehouseAuth, { verifier: sessions });
    app.get('/x', { preHandler: app.requireScope('orders:read') }, async () => ({ ok: true }));
    const res = await app.inject({ url: '/x', headers: { authorization: `Bearer ${accessToken}` } });
    assert.equal(res.statusCode, 403);
    await app.close();
  });

  it('options: revocation is refused with tokens: client; requireScope needs a scope', () => {
    assert.throws(() => createVerifier({ issuer: gatehouse.issuer, audience: API, tokens: 'client', revocation: { check: { isRevoked: async () => false, close: async () => {} } as never } }), TypeError);
    assert.throws(() => createVerifier({ issuer: gatehouse.issuer, audience: API, tokens: 'nope' as never }), TypeError);
    assert.throws(() => requireScope(verifier), TypeError);
    assert.throws(() => requireScope(verifier, 'has space'), TypeError);
  });
});
