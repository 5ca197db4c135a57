// The Express middleware (through fetch against a listening app) and the Fastify plugin (through inject()),
// with real Gatehouse tokens: 401 / 403 / 503 bodies and headers, and the claims on req.auth.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { createVerifier, VerifyError, type RevocationCheck, type Verifier } from '../src/index.ts';
import { expressAuth, requireAuth, requireRole } from '../src/express.ts';
import { gatehouseAuth } from '../src/fastify.ts';
import { signUp, startGatehouse, type Gatehouse } from './helpers/gatehouse.ts';

let gatehouse: Gatehouse;
let tokens: { user: string; admin: string; manager: string; expired: string; revoked: string; backendDown: string };
let verifier: Verifier;

// A revocation check that says "revoked" for one session and cannot answer for another.
const revokedSids = new Set<string>();
const unavailableSids = new Set<string>();
const check: RevocationCheck = {
  async isRevoked(claims) {
    if (unavailableSids.has(claims.sid)) throw new VerifyError('service_unavailable', { cause: new Error('connection refused') });
    return revokedSids.has(claims.sid);
  },
  async close() {},
};

const sidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;

before(async () => {
  gatehouse = await startGatehouse({ fakeClock: Date.now() });
  const user = await signUp(gatehouse);
  const admin = await signUp(gatehouse, { role: 'admin' });
  const manager = await signUp(gatehouse, { role: 'manager' });
  const revoked = await signUp(gatehouse);
  const backendDown = await signUp(gatehouse);
  gatehouse.clock!.now = Date.now() - 60 * 60_000;
  const expired = await signUp(gatehouse);
  gatehouse.clock!.now = Date.now();
  revokedSids.add(sidOf(revoked.accessToken));
  unavailableSids.add(sidOf(backendDown.accessToken));
  tokens = {
    user: user.accessToken,
    admin: admin.accessToken,
    manager: manager.accessToken,
    expired: expired.accessToken,
    revoked: revoked.accessToken,
    backendDown: backendDown.accessToken,
  };
  verifier = createVerifier({ issuer: gatehouse.issuer, audience: gatehouse.issuer, jwksUrl: gatehouse.jwksUrl, revocation: { check } });
});
after(() => gatehouse.close());

/** The cases both frameworks must answer alike: [description, route, token or raw header, status, code]. */
const CASES: Array<[string, string, { token?: keyof typeof tokens; header?: string }, number, string | null]> = [
  ['no Authorization header', '/profile', {}, 401, 'authentication_required'],
  ['a header that is not Bearer', '/profile', { header: 'Basic dXNlcjpwYXNz' }, 401, 'invalid_token'],
  ['a Bearer header with garbage', '/profile', { header: 'Bearer not-a-jwt' }, 401, 'invalid_token'],
  ['an expired token', '/profile', { token: 'expired' }, 401, 'token_expired'],
  ['a revoked token', '/profile', { token: 'revoked' }, 401, 'token_revoked'],
  ['a revocation backend that cannot answer', '/profile', { token: 'backendDown' }, 503, 'service_unavailable'],
  ['a valid user token', '/profile', { token: 'user' }, 200, null],
  ['a user on an admin+manager route', '/api/reports', { token: 'user' }, 403, 'forbidden'],
  ['a manager on an admin+manager route', '/api/reports', { token: 'manager' }, 200, null],
  ['an admin on an admin+manager route', '/api/reports', { token: 'admin' }, 200, null],
  ['a manager on an admin route', '/api/admin-only', { token: 'manager' }, 403, 'forbidden'],
  ['an admin on an admin route', '/api/admin-only', { token: 'admin' }, 200, null],
  ['no token on a role route', '/api/admin-only', {}, 401, 'authentication_required'],
];

const WWW_AUTHENTICATE: Record<string, string | undefined> = {
  authentication_required: 'Bearer',
  invalid_token: 'Bearer error="invalid_token"',
  token_expired: 'Bearer error="invalid_token"',
  token_revoked: 'Bearer error="invalid_token"',
  forbidden: 'Bearer error="insufficient_scope"',
  service_unavailable: undefined,
};

function headersFor(c: { token?: keyof typeof tokens; header?: string }): Record<string, string> {
  if (c.header) return { authorization: c.header };
  if (c.token) return { authorization: `Bearer ${tokens[c.token]}` };
  return {};
}

function checkAnswer(status: number, headers: Record<string, string | undefined>, body: any, expected: { status: number; code: string | null; token?: keyof typeof tokens }) {
  assert.equal(status, expected.status, JSON.stringify(body));
  if (expected.code === null) {
    const claims = JSON.parse(Buffer.from(tokens[expected.token!].split('.')[1]!, 'base64url').toString());
    assert.equal(body.auth.sub, claims.sub, 'req.auth holds the verified claims');
    assert.equal(body.auth.role, claims.role);
    return;
  }
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message']);
  assert.equal(body.error.code, expected.code);
  assert.equal(typeof body.error.message, 'string');
  assert.equal(headers['www-authenticate'], WWW_AUTHENTICATE[expected.code]);
  assert.equal(headers['cache-control'], 'no-store');
}

describe('Express middleware', () => {
  let base: string;
  let close: () => void;
  before(async () => {
    const app = express();
    const auth = expressAuth(verifier);
    app.get('/public', (_req, res) => {
      res.json({ ok: true });
    });
    app.get('/profile', auth.requireAuth, (req, res) => {
      res.json({ auth: req.auth });
    });
    app.get('/api/reports', auth.requireAuth, auth.requireRole('admin', 'manager'), (req, res) => {
      res.json({ auth: req.auth });
    });
    // requireRole alone (without requireAuth before it) authenticates too.
    app.get('/api/admin-only', requireRole(verifier, 'admin'), (req, res) => {
      res.json({ auth: req.auth });
    });
    const buggy = { verifyAuthorization: () => Promise.reject(new Error('a bug')) } as unknown as Verifier;
    app.get('/broken', requireAuth(buggy), (_req, res) => {
      res.json({ ok: true });
    });
    app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: { code: 'internal', message: 'Internal server error' } });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  after(() => close());

  for (const [what, route, c, status, code] of CASES) {
    it(`${route}: ${what} → ${status}${code ? ` ${code}` : ''}`, async () => {
      const res = await fetch(`${base}${route}`, { headers: headersFor(c) });
      checkAnswer(res.status, Object.fromEntries(res.headers), await res.json(), { status, code, token: c.token });
    });
  }

  it('leaves public routes alone', async () => {
    const res = await fetch(`${base}/public`);
    assert.equal(res.status, 200);
  });

  it('passes an unexpected error to Express\'s error handler instead of answering for it', async () => {
    const res = await fetch(`${base}/broken`, { headers: { authorization: `Bearer ${tokens.user}` } });
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as any).error.code, 'internal');
  });

  it('refuses requireRole() without roles at start-up', () => {
    assert.throws(() => requireRole(verifier), TypeError);
  });
});

describe('Fastify plugin', () => {
  const app = Fastify();
  before(async () => {
    await app.register(gatehouseAuth, { verifier });
    // Another error handler must not reshape the guard's answers.
    app.setErrorHandler((_err, _request, reply) => {
      reply.code(500).send({ error: { code: 'internal', message: 'Internal server error' } });
    });
    app.get('/public', async () => ({ ok: true }));
    app.get('/profile', { preHandler: app.requireAuth }, async (request) => ({ auth: request.auth }));
    app.get('/api/reports', { preHandler: [app.requireAuth, app.requireRole('admin', 'manager')] }, async (request) => ({ auth: request.auth }));
    app.get('/api/admin-only', { preHandler: app.requireRole('admin') }, async (request) => ({ auth: request.auth }));
    app.get('/no-guard', async (request) => ({ auth: request.auth }));
    await app.ready();
  });
  after(() => app.close());

  for (const [what, route, c, status, code] of CASES) {
    it(`${route}: ${what} → ${status}${code ? ` ${code}` : ''}`, async () => {
      const res = await app.inject({ method: 'GET', url: route, headers: headersFor(c) });
      checkAnswer(res.statusCode, res.headers as Record<string, string>, res.json(), { status, code, token: c.token });
    });
  }

  it('leaves request.auth null on routes without a guard, even with a token', async () => {
    const res = await app.inject({ method: 'GET', url: '/no-guard', headers: { authorization: `Bearer ${tokens.user}` } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().auth, null);
  });

  it('refuses to register without a verifier', async () => {
    const bare = Fastify();
    await assert.rejects(async () => {
      await bare.register(gatehouseAuth, {} as never);
      await bare.ready();
    }, TypeError);
  });
});
