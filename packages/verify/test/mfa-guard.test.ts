// requireMfa() in Express and Fastify: 403 mfa_required unless the token's amr has "mfa" (RFC 8176), with
// the verified amr on req.auth / request.auth.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { createVerifier, type Verifier } from '../src/index.ts';
import { expressAuth, requireMfa } from '../src/express.ts';
import { gatehouseAuth } from '../src/fastify.ts';
import { ownIssuer } from './helpers/forge.ts';

const issuer = ownIssuer('ES256');
let verifier: Verifier;
let expressUrl: string;
let closeExpress: () => Promise<void>;
let fastify: FastifyInstance;

const MFA = ['pwd', 'otp', 'mfa'];
const CASES: Array<[string, Record<string, string>, number, string | null]> = [
  ['a password-only token', { authorization: `Bearer ${issuer.token({ amr: ['pwd'] })}` }, 403, 'mfa_required'],
  ['a token without amr', { authorization: `Bearer ${issuer.token()}` }, 403, 'mfa_required'],
  ['a token whose amr has otp but not mfa', { authorization: `Bearer ${issuer.token({ amr: ['pwd', 'otp'] })}` }, 403, 'mfa_required'],
  ['a token with a second factor', { authorization: `Bearer ${issuer.token({ amr: MFA })}` }, 200, null],
  ['a passkey with user verification', { authorization: `Bearer ${issuer.token({ amr: ['hwk', 'user', 'mfa'] })}` }, 200, null],
  ['no token', {}, 401, 'authentication_required'],
  ['an expired token with a second factor', { authorization: `Bearer ${issuer.token({ amr: MFA, iat: 1, exp: 2 })}` }, 401, 'token_expired'],
];

before(async () => {
  verifier = createVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetch: issuer.fetch });
  const app = express();
  const guards = expressAuth(verifier);
  app.get('/mfa', requireMfa(verifier), (req, res) => {
    res.json({ amr: req.auth?.amr });
  });
  app.get('/bound', guards.requireMfa(), (req, res) => {
    res.json({ amr: req.auth?.amr });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  expressUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closeExpress = () => new Promise((resolve) => server.close(() => resolve()));

  fastify = Fastify();
  await fastify.register(gatehouseAuth, { verifier });
  fastify.get('/mfa', { preHandler: fastify.requireMfa() }, async (request) => ({ amr: request.auth?.amr }));
  await fastify.ready();
});
after(async () => {
  await closeExpress();
  await fastify.close();
});

describe('requireMfa()', () => {
  for (const [what, headers, status, code] of CASES) {
    it(`${what}: ${status}${code ? ` ${code}` : ''} on Express and Fastify`, async () => {
      const answers = [
        ...(await Promise.all(['/mfa', '/bound'].map(async (path) => {
          const res = await fetch(`${expressUrl}${path}`, { headers });
          return { status: res.status, body: await res.json(), challenge: res.headers.get('www-authenticate') };
        }))),
        await fastify.inject({ url: '/mfa', headers }).then((res) => ({ status: res.statusCode, body: res.json(), challenge: res.headers['www-authenticate'] ?? null })),
      ];
      for (const answer of answers) {
        assert.equal(answer.status, status, JSON.stringify(answer.body));
        if (code) {
          assert.equal(answer.body.error.code, code);
          if (status === 403) assert.equal(answer.challenge, 'Bearer error="insufficient_scope"');
        } else {
          assert.ok(answer.body.amr.includes('mfa'));
        }
      }
    });
  }
});
