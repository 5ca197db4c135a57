// VerifyError.check names the check that refused a token, for every check; the message names it too and
// never carries the token, a key or the secret. The body sent to clients carries neither check nor cause.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { createVerifier, VerifyError, type RevocationCheck, type VerifierOptions } from '../src/index.ts';
import { fastifyGuards } from '../src/fastify.ts';
import { b64, generate, hs256, ownIssuer, signWith } from './helpers/forge.ts';

const NOW = Date.UTC(2030, 0, 1);
const SECRET = 'a-shared-secret-of-at-least-32-bytes!!';

function setup(options: Partial<VerifierOptions> = {}) {
  const issuer = ownIssuer('RS256', () => NOW);
  const verifier = createVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetch: issuer.fetch, now: () => NOW, clockToleranceSec: 0, ...options });
  return { issuer, verifier };
}

async function refused(promise: Promise<unknown>, code: string, check: string, secrets: string[] = []): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VerifyError, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.check, check, err.message);
    for (const secret of secrets.filter((s) => s.length > 8)) assert.ok(!err.message.includes(secret), `the message of ${check} holds no secret`);
    assert.deepEqual(Object.keys(err.toBody().error).sort(), ['code', 'message']);
    return true;
  });
}

describe('VerifyError.check', () => {
  it('is set by each token check', async () => {
    const { issuer, verifier } = setup();
    const now = NOW / 1000;
    const good = issuer.token();
    const [h, p, s] = good.split('.') as [string, string, string];
    const other = generate('RS256');
    const cases: Array<[string, string, string, string]> = [
      ['too long', 'x'.repeat(9000), 'invalid_token', 'format'],
      ['two segments', `${h}.${p}`, 'invalid_token', 'format'],
      ['padded signature', `${h}.${p}.${s}=`, 'invalid_token', 'format'],
      ['header not JSON', `${b64('nope')}.${p}.${s}`, 'invalid_token', 'format'],
      ['header not UTF-8', `${Buffer.from([0xff, 0xfe, 0x7b, 0x7d]).toString('base64url')}.${p}.${s}`, 'invalid_token', 'format'],
      ['payload not JSON', signWith('RS256', issuer.privateKey, { alg: 'RS256', kid: issuer.kid, typ: 'at+jwt' }, [1] as never), 'invalid_token', 'format'],
      ['alg none', `${b64({ alg: 'none', kid: issuer.kid, typ: 'at+jwt' })}.${p}.${s}`, 'invalid_token', 'alg'],
      ['alg HS256 not allowed', hs256(SECRET, { alg: 'HS256', kid: issuer.kid, typ: 'at+jwt' }, issuer.claims()), 'invalid_token', 'alg'],
      ['crit', issuer.token({}, { crit: ['x'], x: 1 }), 'invalid_token', 'crit'],
      ['typ JWT', issuer.token({}, { typ: 'JWT' }), 'invalid_token', 'typ'],
      ['no kid', issuer.token({}, { kid: undefined }), 'invalid_token', 'kid'],
      ['kid not a string', issuer.token({}, { kid: 42 }), 'invalid_token', 'kid'],
      ['unknown kid', issuer.token({}, { kid: 'another' }), 'invalid_token', 'kid'],
      ['signed by another key', signWith('RS256', other.privateKey, { alg: 'RS256', kid: issuer.kid, typ: 'at+jwt' }, issuer.claims()), 'invalid_token', 'signature'],
      ['payload swapped', `${h}.${b64(issuer.claims({ role: 'admin' }))}.${s}`, 'invalid_token', 'signature'],
      ['iss', issuer.token({ iss: 'https://evil.test' }), 'invalid_token', 'iss'],
      ['aud', issuer.token({ aud: 'https://other.test' }), 'invalid_token', 'aud'],
      ['no sid', issuer.token({ sid: undefined }), 'invalid_token', 'claims'],
      ['amr not an array', issuer.token({ amr: 'mfa' }), 'invalid_token', 'claims'],
      ['amr with a number', issuer.token({ amr: ['pwd', 1] }), 'invalid_token', 'claims'],
      ['nbf malformed', issuer.token({ nbf: 'soon' }), 'invalid_token', 'claims'],
      ['nbf', issuer.token({ nbf: now + 60 }), 'invalid_token', 'nbf'],
      ['iat in the future', issuer.token({ iat: now + 60, exp: now + 960 }), 'invalid_token', 'iat'],
      ['exp', issuer.token({ iat: now - 1000, exp: now - 1 }), 'token_expired', 'exp'],
    ];
    for (const [what, token, code, check] of cases) {
      await refused(verifier.verifyAccessToken(token), code, check, [token, s, issuer.kid]).catch((err: Error) => {
        throw new Error(`${what}: ${err.message}`);
      });
    }
    assert.deepEqual((await verifier.verifyAccessToken(good)).amr, []);
  });

  it('exp on a cached token, the HS256 secret, the JWKS and the Authorization header', async () => {
    let now = NOW;
    const { issuer, verifier } = setup({ now: () => now });
    const token = issuer.token();
    await verifier.verifyAccessToken(token);
    now = NOW + 900_000;
    await refused(verifier.verifyAccessToken(token), 'token_expired', 'exp');

    const hs = createVerifier({ issuer: issuer.issuer, audience: issuer.audience, secret: SECRET, now: () => NOW });
    const claims = issuer.claims();
    assert.equal((await hs.verifyAccessToken(hs256(SECRET, { alg: 'HS256', typ: 'at+jwt' }, claims))).sub, 'user-1');
    await refused(hs.verifyAccessToken(hs256(`${SECRET}?`, { alg: 'HS256', typ: 'at+jwt' }, claims)), 'invalid_token', 'signature', [SECRET]);

    const down = createVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetch: (async () => new Response('', { status: 500 })) as typeof fetch, now: () => NOW });
    await refused(down.verifyAccessToken(issuer.token()), 'service_unavailable', 'keys');

    await refused(verifier.verifyAuthorization(undefined), 'authentication_required', 'authorization');
    await refused(verifier.verifyAuthorization(`Basic ${b64('a:b')}`), 'invalid_token', 'authorization');
  });

  it('revoked, and a revocation backend that cannot answer', async () => {
    const failing = { isRevoked: async () => Promise.reject(new Error('ECONNREFUSED')), close: async () => {} } satisfies RevocationCheck;
    const revoked = { isRevoked: async () => true, close: async () => {} } satisfies RevocationCheck;
    const a = setup({ revocation: { check: revoked } });
    await refused(a.verifier.verifyAccessToken(a.issuer.token()), 'token_revoked', 'revoked');
    const b = setup({ revocation: { check: failing } });
    await refused(b.verifier.verifyAccessToken(b.issuer.token()), 'service_unavailable', 'revoked');
  });

  it('role and mfa, from the guards; the response carries code and message only', async () => {
    const { issuer, verifier } = setup();
    const app = Fastify();
    const guards = fastifyGuards(verifier);
    app.get('/admin', { preHandler: guards.requireRole('admin') }, async () => ({ ok: true }));
    app.get('/mfa', { preHandler: guards.requireMfa() }, async () => ({ ok: true }));
    await app.ready();
    const role = await app.inject({ url: '/admin', headers: { authorization: `Bearer ${issuer.token()}` } });
    assert.equal(role.statusCode, 403);
    assert.deepEqual(role.json(), { error: { code: 'forbidden', message: 'You are not allowed to do this' } });
    const mfa = await app.inject({ url: '/mfa', headers: { authorization: `Bearer ${issuer.token({ amr: ['pwd'] })}` } });
    assert.equal(mfa.statusCode, 403);
    assert.deepEqual(mfa.json(), { error: { code: 'mfa_required', message: 'A second factor is required' } });
    await app.close();

    const { roleRule, mfaRule } = await import('../src/guard-rules.ts');
    const claims = await verifier.verifyAccessToken(issuer.token({ amr: ['pwd'] }));
    assert.deepEqual([roleRule(['admin'])(claims)?.check, mfaRule(claims)?.check, roleRule(['user'])(claims)], ['role', 'mfa', null]);
  });
});
