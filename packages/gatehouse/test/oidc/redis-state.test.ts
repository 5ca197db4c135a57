// With REDIS_URL set, the provider's short-lived artefacts (authorization codes, interactions, replay entries,
// pushed requests) live in Redis, not in oidc_payloads: a sign-in works, two instances on one PostgreSQL and
// one Redis share them (a code made on one is exchanged on the other, and its reuse is caught on the first),
// a code behind a revoked grant is refused, and Redis out of reach is 503 temporarily_unavailable.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { StateUnavailableError } from '../../src/state/state.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { redisPrefix, skipUnlessPostgres, skipUnlessRedis } from '../helpers/backends.ts';
import { call, login } from '../helpers/http.ts';
import { authorizationRequest, browse, codeFlow, oidc, REDIRECT, registerClient, relyingParty, signedInUser, startProvider, type Provider } from './harness.ts';

async function exchange(url: string, client: { clientId: string; secret: string | null }, code: string, verifier: string) {
  const res = await fetch(`${url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${client.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function sqlKinds(server: TestServer): Promise<string[]> {
  const rows = await server.runtime.database.db.selectFrom('oidc_payloads' as never).select('kind' as never).execute();
  return [...new Set((rows as Array<{ kind: string }>).map((r) => r.kind))].sort();
}

describe('OpenID provider: short-lived artefacts in Redis (REDIS_URL)', () => {
  let provider: Provider;
  let other: TestServer | null = null;
  let otherUrl = '';
  let skip: string | false = false;
  const prefix = redisPrefix();
  before(async () => {
    skip = (await skipUnlessRedis()) || (await skipUnlessPostgres());
    if (skip) return;
    provider = await startProvider({ postgres: true, redis: true, redisPrefix: prefix });
    // A second instance: the same PostgreSQL, the same Redis, the same issuer; its own port.
    other = await startTestServer({ postgres: true, databaseUrl: provider.server.config.databaseUrl!, redis: true, redisPrefix: prefix, env: { PUBLIC_URL: provider.issuer } });
    await other.app.listen({ port: 0, host: '127.0.0.1' });
    otherUrl = `http://127.0.0.1:${(other.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await other?.close();
    await provider?.close();
  });

  it('oidcc-server on Redis: a sign-in works, and its code and interaction are in Redis, not in oidc_payloads', async (t) => {
    if (skip) return t.skip(skip);
    const client = await registerClient(provider, { firstParty: true });
    const rp = await relyingParty(provider, client.clientId, client.secret);
    const { cookie, user } = await signedInUser(provider);
    const request = await authorizationRequest(rp);
    const { final } = await browse(request.url, cookie);
    const code = final.searchParams.get('code')!;
    assert.ok(await provider.server.runtime.ctx.state.get(`oidc:AuthorizationCode:${code}`), 'the code is in the shared state');
    const tokens = await oidc.authorizationCodeGrant(rp, final, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    assert.equal(tokens.claims()!.sub, user.id);
    const kinds = await sqlKinds(provider.server);
    for (const kind of ['AuthorizationCode', 'Interaction']) assert.ok(!kinds.includes(kind), `${kind} in SQL: ${kinds.join(', ')}`);
    for (const kind of ['Session', 'Grant', 'AccessToken']) assert.ok(kinds.includes(kind), `${kind} stays in SQL: ${kinds.join(', ')}`);
  });

  it('two instances share them: a code made on one is exchanged on the other; its reuse on the first is caught and revokes the tokens', async (t) => {
    if (skip) return t.skip(skip);
    const client = await registerClient(provider, { firstParty: true });
    const rp = await relyingParty(provider, client.clientId, client.secret);
    const { cookie } = await signedInUser(provider);
    const request = await authorizationRequest(rp);
    const { final } = await browse(request.url, cookie);
    const code = final.searchParams.get('code')!;
    const onOther = await exchange(otherUrl, client, code, request.verifier);
    assert.equal(onOther.status, 200, JSON.stringify(onOther.body));
    const again = await exchange(provider.issuer, client, code, request.verifier);
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant');
    const introspected = await oidc.tokenIntrospection(rp, onOther.body.access_token);
    assert.equal(introspected.active, false, 'oidcc-codereuse: the first use\'s token is revoked');
  });

  it('a code left behind a revoked grant is refused (the grant is gone), though the code itself is not deleted', async (t) => {
    if (skip) return t.skip(skip);
    const client = await registerClient(provider, { name: 'Third party app' });
    const rp = await relyingParty(provider, client.clientId, client.secret);
    const signedIn = await signedInUser(provider);
    // Consent once (a third-party client), then a second authorization gives a code of the same grant.
    const first = await authorizationRequest(rp);
    const page = await browse(first.url, signedIn.cookie);
    const action = /<form method="post" action="([^"]+\/consent)"/.exec(page.body)![1]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const approved = await fetch(new URL(action, provider.issuer), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [signedIn.cookie, ...[...page.jar].map(([k, v]) => `${k}=${v}`)].join('; ') },
      body: new URLSearchParams({ _csrf: csrf, decision: 'approve' }),
    });
    const refresh = /content="0;url=([^"]+)"/.exec(await approved.text())![1]!.replace(/&amp;/g, '&');
    const done = await browse(refresh, signedIn.cookie, page.jar);
    assert.ok(done.final.href.startsWith(REDIRECT), done.final.href);
    const pending = await authorizationRequest(rp);
    const { final } = await browse(pending.url, signedIn.cookie, page.jar);
    const code = final.searchParams.get('code')!;
    assert.ok(code);
    // The user revokes the app (Connected apps): the grant goes.
    const { body } = await login(provider.server.app, signedIn.email);
    assert.equal((await call(provider.server.app, 'DELETE', `/auth/apps/${client.clientId}`, { token: body.accessToken })).statusCode, 204);
    assert.ok(await provider.server.runtime.ctx.state.get(`oidc:AuthorizationCode:${code}`), 'the code is still there');
    const res = await exchange(provider.issuer, client, code, pending.verifier);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error, 'invalid_grant');
  });

  it('Redis out of reach: the token endpoint answers 503 temporarily_unavailable, never 500', async (t) => {
    if (skip) return t.skip(skip);
    const client = await registerClient(provider, { firstParty: true });
    const rp = await relyingParty(provider, client.clientId, client.secret);
    const { cookie } = await signedInUser(provider);
    const { request, callback } = await (async () => {
      const request = await authorizationRequest(rp);
      const { final } = await browse(request.url, cookie);
      return { request, callback: final };
    })();
    const state = provider.server.runtime.ctx.state;
    const get = state.get.bind(state);
    state.get = async () => {
      throw new StateUnavailableError(new Error('connection refused'));
    };
    try {
      const res = await exchange(provider.issuer, client, callback.searchParams.get('code')!, request.verifier);
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.error, 'temporarily_unavailable');
    } finally {
      state.get = get;
    }
    const res = await exchange(provider.issuer, client, callback.searchParams.get('code')!, request.verifier);
    assert.equal(res.status, 200, 'the code works once Redis answers again');
    assert.ok((await codeFlow(provider, rp, cookie)).tokens.id_token);
  });
});
