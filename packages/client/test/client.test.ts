// The client against a real Gatehouse on loopback: token mode fully, cookie mode through a cookie-keeping fetch.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, GatehouseError, type SessionEndedDetail } from '../src/index.ts';
import { PASSWORD, recordingFetch, startGatehouse, uniqueEmail, type Gatehouse } from './helpers/gatehouse.ts';

let gatehouse: Gatehouse;
before(async () => {
  gatehouse = await startGatehouse();
});
after(() => gatehouse.close());

const count = (f: ReturnType<typeof recordingFetch>, method: string, path: string) => f.exchanges.filter((e) => e.method === method && e.path === path).length;

/** Moves Gatehouse's clock past the access token's lifetime (the refresh token lives on). */
const expireAccessTokens = () => gatehouse.clock.advance(gatehouse.config.accessTokenTtlMs + 1000);

describe('token mode', () => {
  it('registers, logs in and calls Gatehouse with the access token', async () => {
    const recorder = recordingFetch();
    const client = createClient({ baseUrl: gatehouse.url, fetch: recorder });
    const email = uniqueEmail();
    const registered = await client.register({ email, password: PASSWORD, name: 'Ada' });
    assert.equal(registered.email, email);
    assert.equal(client.isAuthenticated, true);
    const user = await client.login({ email, password: PASSWORD });
    assert.ok(!('mfaRequired' in user), 'an account without a second factor signs in at once');
    assert.equal(user.id, registered.id);
    const res = await client.fetch('/auth/me');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { user: { email: string } }).user.email, email);
    const me = recorder.exchanges.at(-1)!;
    assert.match(me.headers.get('authorization') ?? '', /^Bearer eyJ/);
  });

  it('throws GatehouseError with the contract code for a failed login or sign-up', async () => {
    const client = createClient({ baseUrl: gatehouse.url });
    await assert.rejects(client.login({ email: uniqueEmail(), password: 'wrong password here' }), (err: unknown) => {
      assert.ok(err instanceof GatehouseError);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'invalid_credentials');
      return true;
    });
    await assert.rejects(client.register({ email: 'not-an-email', password: 'short' }), (err: unknown) => {
      assert.ok(err instanceof GatehouseError);
      assert.equal(err.code, 'validation_failed');
      assert.ok(err.details?.some((d) => d.field === 'email'));
      return true;
    });
    assert.equal(client.isAuthenticated, false);
  });

  it('refreshes once for 50 concurrent 401 token_expired and retries them all', async () => {
    const recorder = recordingFetch();
    const client = createClient({ baseUrl: gatehouse.url, fetch: recorder });
    await client.register({ email: uniqueEmail(), password: PASSWORD });
    const first = client.accessToken;
    expireAccessTokens();
    const responses = await Promise.all(Array.from({ length: 50 }, () => client.fetch(`${gatehouse.url}/auth/me`)));
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    assert.equal(count(recorder, 'POST', '/auth/refresh'), 1, 'exactly one refresh');
    assert.equal(count(recorder, 'GET', '/auth/me'), 100, '50 that failed, 50 retries');
    const expiredAnswers = recorder.exchanges.filter((e) => e.path === '/auth/me' && e.status === 401);
    assert.equal(expiredAnswers.length, 50);
    for (const e of expiredAnswers) assert.equal(JSON.parse(e.body).error.code, 'token_expired');
    assert.notEqual(client.accessToken, first);
  });

  it('retries a request at most once', async () => {
    // A Gatehouse whose every answer is token_expired: one refresh, one retry, then the 401 comes back.
    const calls: string[] = [];
    const client = createClient({
      baseUrl: 'http://gatehouse.test',
      fetch: async (input, init) => {
        const request = new Request(input, init);
        const path = new URL(request.url).pathname;
        calls.push(`${request.method} ${path}`);
        if (path === '/auth/login' || path === '/auth/refresh') {
          return Response.json({ user: { id: 'u1' }, accessToken: `at-${calls.length}`, refreshToken: `rt-${calls.length}` });
        }
        return Response.json({ error: { code: 'token_expired', message: 'The access token has expired' } }, { status: 401 });
      },
    });
    await client.login({ email: 'a@example.com', password: PASSWORD });
    const res = await client.fetch('/api/things');
    assert.equal(res.status, 401);
    assert.deepEqual(calls, ['POST /auth/login', 'GET /api/things', 'POST /auth/refresh', 'GET /api/things']);
  });

  it('re-sends the body of a retried POST', async () => {
    const recorder = recordingFetch();
    const client = createClient({ baseUrl: gatehouse.url, fetch: recorder });
    await client.register({ email: uniqueEmail(), password: PASSWORD, name: 'Before' });
    expireAccessTokens();
    const res = await client.fetch('/auth/me', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'After' }) });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { user: { name: string } }).user.name, 'After');
  });

  it('ends the session on refresh-token reuse: sessionEnded, no token any more', async () => {
    const recorder = recordingFetch();
    const client = createClient({ baseUrl: gatehouse.url, fetch: recorder });
    const events: SessionEndedDetail[] = [];
    client.onSessionEnded((detail) => events.push(detail));
    await client.register({ email: uniqueEmail(), password: PASSWORD });
    // A thief who copied the refresh token off the wire uses it first.
    const stolen = JSON.parse(recorder.exchanges.find((e) => e.path === '/auth/register')!.body).refreshToken as string;
    const theft = await fetch(`${gatehouse.url}/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: stolen }) });
    assert.equal(theft.status, 200);
    // Past the reuse grace and the access token's life, the client's own refresh presents the rotated token.
    expireAccessTokens();
    const res = await client.fetch('/auth/me');
    assert.equal(res.status, 401);
    assert.deepEqual(events, [{ reason: 'refresh_token_reused' }]);
    assert.equal(client.isAuthenticated, false);
    assert.equal(client.user, null);
    // Gatehouse ended the thief's session too.
    const thief = (await theft.json()) as { accessToken: string };
    assert.equal((await fetch(`${gatehouse.url}/auth/me`, { headers: { authorization: `Bearer ${thief.accessToken}` } })).status, 401);
    // With no session, a further request goes out without a token and without a refresh.
    const before = count(recorder, 'POST', '/auth/refresh');
    assert.equal((await client.fetch('/auth/me')).status, 401);
    assert.equal(count(recorder, 'POST', '/auth/refresh'), before);
    assert.equal(recorder.exchanges.at(-1)!.headers.get('authorization'), null);
  });

  it('logs out: Gatehouse refuses the old token, sessionEnded fires once', async () => {
    const recorder = recordingFetch();
    const client = createClient({ baseUrl: gatehouse.url, fetch: recorder });
    const events: SessionEndedDetail[] = [];
    client.addEventListener('sessionEnded', (event) => events.push((event as CustomEvent<SessionEndedDetail>).detail));
    await client.register({ email: uniqueEmail(), password: PASSWORD });
    const token = client.accessToken!;
    await client.logout();
    assert.equal(recorder.exchanges.at(-1)!.status, 204);
    assert.deepEqual(events, [{ reason: 'logout' }]);
    assert.equal(client.accessToken, null);
    assert.equal((await fetch(`${gatehouse.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    await client.logout();
    assert.equal(events.length, 1, 'a second logout has no session to end');
  });

  it('sends the access token only to Gatehouse and the configured origins', async () => {
    const seen: Array<{ url: string; authorization: string | null }> = [];
    const client = createClient({
      baseUrl: 'https://auth.example.test',
      tokenOrigins: ['https://auth.example.test', 'https://api.example.test'],
      fetch: async (input, init) => {
        const request = new Request(input, init);
        seen.push({ url: request.url, authorization: request.headers.get('authorization') });
        if (request.url.endsWith('/auth/login')) return Response.json({ user: { id: 'u1' }, accessToken: 'the-token', refreshToken: 'r' });
        return Response.json({ ok: true });
      },
    });
    await client.login({ email: 'a@example.com', password: PASSWORD });
    await client.fetch('https://api.example.test/reports');
    await client.fetch('https://elsewhere.example.test/collect');
    await client.fetch(new Request('https://api.example.test/x', { headers: { authorization: 'Basic abc' } }));
    assert.deepEqual(seen.slice(1), [
      { url: 'https://api.example.test/reports', authorization: 'Bearer the-token' },
      { url: 'https://elsewhere.example.test/collect', authorization: null },
      { url: 'https://api.example.test/x', authorization: 'Basic abc' },
    ]);
  });

  it('keeps tokens in memory only', async () => {
    const client = createClient({ baseUrl: gatehouse.url });
    await client.register({ email: uniqueEmail(), password: PASSWORD });
    assert.equal(JSON.stringify(client).includes('eyJ'), false, 'the tokens are private fields, not serialised properties');
    assert.equal(Object.keys(client).some((k) => /token/i.test(k)), false);
    assert.equal((globalThis as { localStorage?: unknown }).localStorage, undefined);
  });
});

describe('cookie mode', () => {
  it('refreshes through the HttpOnly cookie with the CSRF header, once for many 401s', async () => {
    const jar = recordingFetch({ jar: true });
    const client = createClient({ baseUrl: gatehouse.url, mode: 'cookie', fetch: jar });
    await client.register({ email: uniqueEmail(), password: PASSWORD });
    const login = jar.exchanges.find((e) => e.path === '/auth/register')!;
    assert.equal(login.credentials, 'include');
    assert.equal(JSON.parse(login.body).refreshToken, undefined, 'no refresh token in the body in cookie mode');
    assert.ok(jar.cookies.has('gh_refresh'));

    expireAccessTokens();
    const responses = await Promise.all(Array.from({ length: 20 }, () => client.fetch('/auth/me')));
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    assert.equal(count(jar, 'POST', '/auth/refresh'), 1);
    assert.equal(count(jar, 'GET', '/auth/csrf'), 1);
    const refresh = jar.exchanges.find((e) => e.path === '/auth/refresh')!;
    assert.equal(refresh.status, 200);
    assert.equal(refresh.credentials, 'include');
    const csrf = JSON.parse(jar.exchanges.find((e) => e.path === '/auth/csrf')!.body).csrfToken;
    assert.equal(refresh.headers.get('x-csrf-token'), csrf);
  });

  it('resumes a session after a "reload" (a new client) from the refresh cookie', async () => {
    const jar = recordingFetch({ jar: true });
    await createClient({ baseUrl: gatehouse.url, mode: 'cookie', fetch: jar }).register({ email: uniqueEmail(), password: PASSWORD });
    const reloaded = createClient({ baseUrl: gatehouse.url, mode: 'cookie', fetch: jar });
    assert.equal(reloaded.isAuthenticated, false);
    assert.equal(await reloaded.refresh(), true);
    assert.equal((await reloaded.fetch('/auth/me')).status, 200);
  });

  it('says false, without an event, when there is no session to resume', async () => {
    const client = createClient({ baseUrl: gatehouse.url, mode: 'cookie', fetch: recordingFetch({ jar: true }) });
    let ended = 0;
    client.onSessionEnded(() => ended++);
    assert.equal(await client.refresh(), false);
    assert.equal(ended, 0);
  });

  it('logs out and Gatehouse clears the refresh cookie', async () => {
    const jar = recordingFetch({ jar: true });
    const client = createClient({ baseUrl: gatehouse.url, mode: 'cookie', fetch: jar });
    const events: SessionEndedDetail[] = [];
    client.onSessionEnded((d) => events.push(d));
    await client.register({ email: uniqueEmail(), password: PASSWORD });
    await client.logout();
    assert.deepEqual(events, [{ reason: 'logout' }]);
    assert.equal(jar.cookies.has('gh_refresh'), false);
    assert.equal(await client.refresh(), false);
  });
});
