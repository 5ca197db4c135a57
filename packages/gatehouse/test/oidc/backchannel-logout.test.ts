// Back-channel logout: when a Gatehouse session ends, every client that registered a backchannel_logout_uri
// and signed the user in through it gets a signed logout token POSTed (OpenID Connect Back-Channel Logout 1.0),
// through a durable queue that retries a receiver that is down.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { SqlBackchannelStore } from '../../src/db/backchannel-store.ts';
import { backchannelLogouts } from '../../src/oidc/backchannel.ts';
import { endSession, endUserSessions } from '../../src/sessions/service.ts';
import { call, cookiesOf } from '../helpers/http.ts';
import { codeFlow, oidc, registerClient, relyingParty, sessionCookie, signedInUser, startProvider, type Provider } from './harness.ts';

interface Receiver {
  url: string;
  tokens: string[];
  /** Statuses to answer, in order; 200 once they run out. */
  answers: number[];
  close(): Promise<void>;
}

async function receiver(): Promise<Receiver> {
  const tokens: string[] = [];
  const answers: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const status = answers.shift() ?? 200;
      if (status === 200) tokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel-logout`, tokens, answers, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('OpenID provider: back-channel logout', () => {
  let provider: Provider;
  let rx: Receiver;
  let client: Awaited<ReturnType<typeof registerClient>>;
  let rp: oidc.Configuration;
  let quiet: Awaited<ReturnType<typeof registerClient>>;
  let quietRp: oidc.Configuration;
  before(async () => {
    provider = await startProvider();
    rx = await receiver();
    client = await registerClient(provider, { firstParty: true, name: 'Listening app', backchannelLogoutUri: rx.url });
    rp = await relyingParty(provider, client.clientId, client.secret);
    quiet = await registerClient(provider, { firstParty: true, name: 'App without a back channel' });
    quietRp = await relyingParty(provider, quiet.clientId, quiet.secret);
  });
  after(async () => {
    await provider.close();
    await rx.close();
  });

  async function verify(token: string, audience = client.clientId) {
    assert.equal(decodeProtectedHeader(token).typ, 'logout+jwt');
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${provider.issuer}/.well-known/jwks.json`)), { issuer: provider.issuer, audience });
    return payload;
  }

  /** The id of the Gatehouse session behind a session cookie. */
  async function sessionIdOf(cookie: string): Promise<string> {
    const res = await call(provider.server.app, 'GET', '/auth/sessions', { headers: { cookie } });
    return (res.json().sessions as Array<{ id: string; current: boolean }>).find((s) => s.current)!.id;
  }

  it('POST /auth/logout sends the app a signed logout token with the ID token\'s sub and sid; an app without a URI gets nothing', async () => {
    const { cookie, user } = await signedInUser(provider);
    const { tokens } = await codeFlow(provider, rp, cookie);
    const first = await codeFlow(provider, quietRp, cookie);
    assert.ok(first.tokens.id_token);
    const idClaims = tokens.claims()!;
    assert.ok(idClaims.sid, 'the ID token has a sid (backchannel_logout_session_required)');
    const before = rx.tokens.length;
    const csrf = await call(provider.server.app, 'GET', '/auth/csrf', { headers: { cookie } });
    const res = await call(provider.server.app, 'POST', '/auth/logout', {
      headers: { cookie: `${cookie}; gh_csrf=${cookiesOf(csrf).gh_csrf!.value}`, 'x-csrf-token': csrf.json().csrfToken },
    });
    assert.equal(res.statusCode, 204, res.body);
    await until(() => rx.tokens.length === before + 1, 'the logout token');
    const claims = await verify(rx.tokens.at(-1)!);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.sid, idClaims.sid);
    assert.deepEqual(claims.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.equal(claims.nonce, undefined);
    assert.ok(claims.jti);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(rx.tokens.length, before + 1, 'one token, for the app with a URI only');
  });

  it('logout-all (endUserSessions) and ending one session (endSession) reach the app; a session it was not signed in through does not', async () => {
    const { cookie, user, email } = await signedInUser(provider);
    await codeFlow(provider, rp, cookie);
    // A second Gatehouse session of the same user that never signed in to the app: ending it sends nothing.
    const other = await sessionCookie(provider, email);
    const ctx = provider.server.runtime.ctx;
    const before = rx.tokens.length;
    await endSession(ctx, await sessionIdOf(other), 'logout');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(rx.tokens.length, before, 'nothing for a session the app never saw');
    assert.ok((await endUserSessions(ctx, user.id, 'logout_all')) >= 1);
    await until(() => rx.tokens.length === before + 1, 'the logout token');
    assert.equal((await verify(rx.tokens.at(-1)!)).sub, user.id);
  });

  it('two sessions of one user signed in within the same second to two apps: ending one sends a logout token to its app only, with its sid', async () => {
    const { email } = await signedInUser(provider);
    const ctx = provider.server.runtime.ctx;
    const appA = await registerClient(provider, { firstParty: true, name: 'App A', backchannelLogoutUri: rx.url });
    const appB = await registerClient(provider, { firstParty: true, name: 'App B', backchannelLogoutUri: rx.url });
    // Two sign-ins (two browsers) whose sign-in times fall in the same second: the case a match by user and
    // sign-in second could not tell apart. Made concurrently, and again in the rare case they straddle a second.
    let pair: Array<{ cookie: string; id: string }> = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const cookies = await Promise.all([sessionCookie(provider, email), sessionCookie(provider, email)]);
      pair = await Promise.all(cookies.map(async (cookie) => ({ cookie, id: await sessionIdOf(cookie) })));
      const seconds = await Promise.all(pair.map(async ({ id }) => Math.floor((await ctx.sessions.find(id))!.authTime / 1000)));
      if (seconds[0] === seconds[1]) break;
      assert.ok(attempt < 4, 'two sign-ins within one second');
    }
    const [first, second] = pair as [{ cookie: string; id: string }, { cookie: string; id: string }];
    const a = await codeFlow(provider, await relyingParty(provider, appA.clientId, appA.secret), first.cookie);
    const b = await codeFlow(provider, await relyingParty(provider, appB.clientId, appB.secret), second.cookie);
    const sidA = a.tokens.claims()!.sid;
    const sidB = b.tokens.claims()!.sid;
    assert.ok(sidA && sidB && sidA !== sidB);

    const before = rx.tokens.length;
    await endSession(ctx, first.id, 'logout');
    await until(() => rx.tokens.length === before + 1, 'the logout token for App A');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(rx.tokens.length, before + 1, 'one token: App B was signed in through the other session');
    const claimsA = await verify(rx.tokens.at(-1)!, appA.clientId);
    assert.equal(claimsA.sid, sidA);

    // The other session's browser is still signed in to App B: prompt=none works there without a page.
    const rpB = await relyingParty(provider, appB.clientId, appB.secret);
    const silent = await codeFlow(provider, rpB, second.cookie, { prompt: 'none' }, b.jar);
    assert.equal(silent.tokens.claims()!.sid, sidB);

    await endSession(ctx, second.id, 'logout');
    await until(() => rx.tokens.length === before + 2, 'the logout token for App B');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(rx.tokens.length, before + 2);
    assert.equal((await verify(rx.tokens.at(-1)!, appB.clientId)).sid, sidB);
  });

  it('a receiver that is down is retried from the queue until it answers 200', async () => {
    const { cookie, user } = await signedInUser(provider);
    await codeFlow(provider, rp, cookie);
    const ctx = provider.server.runtime.ctx;
    const store = new SqlBackchannelStore(provider.server.runtime.database.db, 'sqlite');
    const before = rx.tokens.length;
    rx.answers.push(503);
    await endUserSessions(ctx, user.id, 'password_reset');
    await until(() => rx.answers.length === 0, 'the first attempt');
    await ctx.background.drain();
    const pending = (await store.list()).filter((r) => r.status === 'pending');
    assert.equal(pending.length, 1);
    assert.equal(pending[0]!.attempts, 1);
    assert.equal(pending[0]!.last_error, 'HTTP 503');
    assert.equal(rx.tokens.length, before);
    // Not due yet; due after the first backoff (10 s).
    const queue = backchannelLogouts.get(ctx)!;
    assert.deepEqual(await queue.deliverDue(ctx.now()), { sent: 0, failed: 0, dead: 0 });
    assert.deepEqual(await queue.deliverDue(ctx.now() + 11_000), { sent: 1, failed: 0, dead: 0 });
    assert.equal(rx.tokens.length, before + 1);
    assert.equal((await verify(rx.tokens.at(-1)!)).sub, user.id);
    const row = (await store.list()).find((r) => r.id === pending[0]!.id)!;
    assert.equal(row.status, 'sent');
    assert.equal(row.token, '', 'the token is not kept once delivered');
  });
});
