// Revocation: Gatehouse's revocation set read from the same Redis, and the introspection client against a
// local stub. Both fail closed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createVerifier, VerifyError } from '../src/index.ts';
import { ownIssuer } from './helpers/forge.ts';
import { post, redisUrl, signUp, skipUnlessRedis, startGatehouse, type Gatehouse } from './helpers/gatehouse.ts';

async function rejects(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VerifyError, `expected a VerifyError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

const skip = await skipUnlessRedis();

describe('revocation through Gatehouse\'s Redis', { skip }, () => {
  const prefix = `gh-test:verify:${randomBytes(4).toString('hex')}:`;
  let gatehouse: Gatehouse;
  let url: string;
  before(async () => {
    if (skip) return;
    url = await redisUrl();
    gatehouse = await startGatehouse({ redis: true, redisPrefix: prefix });
  });
  after(() => gatehouse?.close());

  it('refuses a token of a logged-out session at once, even from the cache', { skip }, async () => {
    const verifier = createVerifier({ issuer: gatehouse.issuer, audience: gatehouse.issuer, jwksUrl: gatehouse.jwksUrl, revocation: { redis: { url, prefix } } });
    const unchecked = createVerifier({ issuer: gatehouse.issuer, audience: gatehouse.issuer, jwksUrl: gatehouse.jwksUrl });
    try {
      const { accessToken } = await signUp(gatehouse);
      const other = await signUp(gatehouse);
      await verifier.verifyAccessToken(accessToken);
      await unchecked.verifyAccessToken(accessToken);
      const res = await post(`${gatehouse.url}/auth/logout`, {}, accessToken);
      assert.equal(res.status, 204);
      await rejects(verifier.verifyAccessToken(accessToken), 'token_revoked');
      // Another session of the same server is untouched.
      await verifier.verifyAccessToken(other.accessToken);
      // Without a revocation check the token lives until its exp: the documented bound.
      await unchecked.verifyAccessToken(accessToken);
    } finally {
      await verifier.close();
    }
  });

  it('reads the key <prefix>rev:<sid>: with another prefix it sees nothing', { skip }, async () => {
    const wrongPrefix = createVerifier({ issuer: gatehouse.issuer, audience: gatehouse.issuer, jwksUrl: gatehouse.jwksUrl, revocation: { redis: { url, prefix: 'gh-elsewhere:' } } });
    try {
      const { accessToken } = await signUp(gatehouse);
      assert.equal((await post(`${gatehouse.url}/auth/logout`, {}, accessToken)).status, 204);
      await wrongPrefix.verifyAccessToken(accessToken);
    } finally {
      await wrongPrefix.close();
    }
  });

  it('logout-all revokes every session of the user', { skip }, async () => {
    const verifier = createVerifier({ issuer: gatehouse.issuer, audience: gatehouse.issuer, jwksUrl: gatehouse.jwksUrl, revocation: { redis: { url, prefix } } });
    try {
      const first = await signUp(gatehouse);
      const email = ((await (await fetch(`${gatehouse.url}/auth/me`, { headers: { authorization: `Bearer ${first.accessToken}` } })).json()) as any).user.email;
      const second = (await (await post(`${gatehouse.url}/auth/login`, { email, password: 'correct horse battery staple' })).json()) as { accessToken: string };
      await verifier.verifyAccessToken(first.accessToken);
      await verifier.verifyAccessToken(second.accessToken);
      assert.equal((await post(`${gatehouse.url}/auth/logout-all`, {}, second.accessToken)).status, 204);
      await rejects(verifier.verifyAccessToken(first.accessToken), 'token_revoked');
      await rejects(verifier.verifyAccessToken(second.accessToken), 'token_revoked');
    } finally {
      await verifier.close();
    }
  });
});

describe('revocation backend failures', () => {
  it('fails closed with service_unavailable (503) when Redis cannot be reached', async () => {
    const issuer = ownIssuer();
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const verifier = createVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetch: issuer.fetch, revocation: { redis: { url: 'redis://127.0.0.1:1', timeoutMs: 500 } } });
    try {
      const started = Date.now();
      await assert.rejects(verifier.verifyAccessToken(issuer.token()), (err: unknown) => {
        assert.ok(err instanceof VerifyError);
        assert.equal(err.code, 'service_unavailable');
        assert.equal(err.status, 503);
        return true;
      });
      assert.ok(Date.now() - started < 3000, 'it does not hang');
    } finally {
      await verifier.close();
    }
  });

  it('uses a client you pass, and fails closed when it throws', async () => {
    const issuer = ownIssuer();
    const keys: string[] = [];
    let broken = false;
    const client = {
      async get(key: string) {
        keys.push(key);
        if (broken) throw new Error('READONLY');
        return key.endsWith(':rev:session-revoked') ? '1' : null;
      },
    };
    const verifier = createVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetch: issuer.fetch, revocation: { redis: { client } } });
    await verifier.verifyAccessToken(issuer.token());
    await rejects(verifier.verifyAccessToken(issuer.token({ sid: 'session-revoked' })), 'token_revoked');
    broken = true;
    await rejects(verifier.verifyAccessToken(issuer.token()), 'service_unavailable');
    assert.deepEqual(keys, ['gh:rev:session-1', 'gh:rev:session-revoked', 'gh:rev:session-1']);
  });
});

describe('a custom revocation check', () => {
  it('is asked with the claims, and any error it throws becomes service_unavailable', async () => {
    const issuer = ownIssuer();
    const asked: string[] = [];
    let fail = false;
    const verifier = createVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      fetch: issuer.fetch,
      revocation: {
        check: {
          async isRevoked(claims) {
            asked.push(claims.sid);
            if (fail) throw new TypeError('a bug in the check');
            return claims.sid === 'gone';
          },
          async close() {},
        },
      },
    });
    await verifier.verifyAccessToken(issuer.token());
    await rejects(verifier.verifyAccessToken(issuer.token({ sid: 'gone' })), 'token_revoked');
    fail = true;
    await rejects(verifier.verifyAccessToken(issuer.token()), 'service_unavailable');
    assert.deepEqual(asked, ['session-1', 'gone', 'session-1']);
  });
});

describe('revocation through Gatehouse\'s /auth/introspect', () => {
  let gatehouse: Gatehouse;
  before(async () => {
    gatehouse = await startGatehouse();
  });
  after(() => gatehouse.close());

  it('refuses a logged-out session through an API key with the introspect scope', async () => {
    // The service's own credential: an API key with scope introspect, which only an admin may make.
    const owner = await signUp(gatehouse, { role: 'admin' });
    const created = await post(`${gatehouse.url}/auth/api-keys`, { name: 'orders-service', scopes: ['introspect'] }, owner.accessToken);
    assert.equal(created.status, 201, await created.clone().text());
    const { key } = (await created.json()) as { key: string };
    const verifier = createVerifier({
      issuer: gatehouse.issuer,
      audience: gatehouse.issuer,
      jwksUrl: gatehouse.jwksUrl,
      revocation: { introspect: { url: `${gatehouse.url}/auth/introspect`, token: key, cacheMs: 0 } },
    });
    const { accessToken } = await signUp(gatehouse);
    assert.equal((await verifier.verifyAccessToken(accessToken)).role, 'user');
    assert.equal((await post(`${gatehouse.url}/auth/logout`, {}, accessToken)).status, 204);
    await rejects(verifier.verifyAccessToken(accessToken), 'token_revoked');
    // A user's key is refused by Gatehouse (403, introspection is for admins): the verifier fails closed.
    const plain = (await (await post(`${gatehouse.url}/auth/api-keys`, { name: 'no-scope' }, (await signUp(gatehouse)).accessToken)).json()) as { key: string };
    const unscoped = createVerifier({
      issuer: gatehouse.issuer,
      audience: gatehouse.issuer,
      jwksUrl: gatehouse.jwksUrl,
      revocation: { introspect: { url: `${gatehouse.url}/auth/introspect`, token: plain.key } },
    });
    await rejects(unscoped.verifyAccessToken((await signUp(gatehouse)).accessToken), 'service_unavailable');
  });
});

describe('revocation through /auth/introspect (against a local stub)', () => {
  const API_KEY = `gh_${randomBytes(32).toString('base64url')}`;
  let answer: { status: number; body: unknown } = { status: 200, body: { active: true } };
  const seen: Array<{ authorization: string | undefined; body: { token?: string } }> = [];
  const stub = createServer(async (req: IncomingMessage, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    seen.push({ authorization: req.headers.authorization, body: JSON.parse(text) });
    await new Promise((r) => setTimeout(r, 20));
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  });
  let url: string;
  before(async () => {
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(stub.address() as { port: number }).port}/auth/introspect`;
  });
  after(() => stub.close());

  it('asks once per token and cache period, with the API key, and honours active:false', async () => {
    const issuer = ownIssuer();
    let now = Date.now();
    const verifier = createVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      fetch: (input, init) => (String(input).endsWith('/introspect') ? fetch(input, init) : issuer.fetch(input, init)),
      now: () => now,
      revocation: { introspect: { url, token: API_KEY, cacheMs: 5000 } },
    });
    seen.length = 0;
    answer = { status: 200, body: { active: true, sub: 'user-1' } };
    const token = issuer.token();
    await Promise.all(Array.from({ length: 10 }, () => verifier.verifyAccessToken(token)));
    assert.equal(seen.length, 1, 'ten requests at once share one introspection call');
    assert.equal(seen[0]!.authorization, `Bearer ${API_KEY}`);
    assert.equal(seen[0]!.body.token, token);
    answer = { status: 200, body: { active: false } };
    await verifier.verifyAccessToken(token);
    assert.equal(seen.length, 1, 'the answer is reused within cacheMs');
    now += 5000;
    await rejects(verifier.verifyAccessToken(token), 'token_revoked');
    assert.equal(seen.length, 2);
  });

  it('fails closed when introspection errors or answers nonsense', async () => {
    const issuer = ownIssuer();
    const verifier = createVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      fetch: (input, init) => (String(input).endsWith('/introspect') ? fetch(input, init) : issuer.fetch(input, init)),
      revocation: { introspect: { url, token: API_KEY } },
    });
    answer = { status: 500, body: { error: { code: 'internal' } } };
    await rejects(verifier.verifyAccessToken(issuer.token()), 'service_unavailable');
    answer = { status: 200, body: { ok: true } };
    await rejects(verifier.verifyAccessToken(issuer.token()), 'service_unavailable');
    answer = { status: 401, body: { error: { code: 'invalid_token' } } };
    await rejects(verifier.verifyAccessToken(issuer.token()), 'service_unavailable');
  });
});
