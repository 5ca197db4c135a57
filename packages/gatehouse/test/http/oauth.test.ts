// Social login against real providers on loopback: two oidc-provider instances (an honest one and another
// issuer, for mix-up), an imitation of GitHub's OAuth and user APIs, and a provider that is down.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { sha256 } from '../../src/crypto/random.ts';
import { outboxDir } from '../../src/mail/transport.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { skipUnlessPostgres, skipUnlessRedis } from '../helpers/backends.ts';
import { PASSWORD, call, cookiesOf, csrf, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { linkIn, readOutbox } from '../helpers/mail.ts';
import { deadPort, followToCallback, startFakeGitHub, startOidcProvider, type AccountClaims, type FakeGitHub, type TestOidcProvider } from '../helpers/oidc-provider.ts';

const PUBLIC_URL = 'http://127.0.0.1:3000';
const APP = 'http://app.test/signed-in';
const CLIENT_ID = 'gatehouse-test';
const CLIENT_SECRET = `oidc-secret-${randomBytes(12).toString('hex')}`;
const GITHUB_ID = 'gh-client-id';
const GITHUB_SECRET = `github-secret-${randomBytes(12).toString('hex')}`;
const callbackOf = (name: string) => `${PUBLIC_URL}/auth/oauth/${name}/callback`;

let alpha: TestOidcProvider;
let beta: TestOidcProvider;
let github: FakeGitHub;
/** The server the helpers below talk to: the SQLite one, or the PostgreSQL + Redis one in its suite. */
let server: TestServer;
/** Every one-time code and provider code seen, to check that none reached the logs. */
const seenSecrets: string[] = [];

before(async () => {
  alpha = await startOidcProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: ['acme', 'google', 'down'].map(callbackOf) });
  beta = await startOidcProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: ['beta', 'acme', 'mixed'].map(callbackOf) });
  github = await startFakeGitHub({ clientId: GITHUB_ID, clientSecret: GITHUB_SECRET, redirectUri: callbackOf('github') });
  const dead = `http://127.0.0.1:${await deadPort()}`;
  const client = (name: string) => ({ [`OAUTH_${name}_CLIENT_ID`]: CLIENT_ID, [`OAUTH_${name}_CLIENT_SECRET`]: CLIENT_SECRET });
  server = await startTestServer({
    fakeClock: Date.now(),
    env: {
      PUBLIC_URL,
      OAUTH_REDIRECT_ALLOWLIST: `${APP}, ${PUBLIC_URL}/`,
      // Generic OpenID Connect providers, by discovery.
      ...client('ACME'),
      OAUTH_ACME_ISSUER: alpha.issuer,
      ...client('BETA'),
      OAUTH_BETA_ISSUER: beta.issuer,
      // The Google preset, pointed at the local provider by the override settings.
      ...client('GOOGLE'),
      OAUTH_GOOGLE_ISSUER: alpha.issuer,
      // Claims alpha's issuer but every endpoint is beta's (no discovery): tokens come from another issuer.
      ...client('MIXED'),
      OAUTH_MIXED_ISSUER: alpha.issuer,
      OAUTH_MIXED_AUTHORIZATION_URL: `${beta.issuer}/auth`,
      OAUTH_MIXED_TOKEN_URL: `${beta.issuer}/token`,
      OAUTH_MIXED_JWKS_URL: `${beta.issuer}/jwks`,
      // Alpha's login works, but its token endpoint is unreachable.
      ...client('DOWN'),
      OAUTH_DOWN_ISSUER: alpha.issuer,
      OAUTH_DOWN_TOKEN_URL: `${dead}/token`,
      // Discovery itself is unreachable.
      ...client('GONE'),
      OAUTH_GONE_ISSUER: dead,
      // The GitHub preset against the imitation.
      OAUTH_GITHUB_CLIENT_ID: GITHUB_ID,
      OAUTH_GITHUB_CLIENT_SECRET: GITHUB_SECRET,
      OAUTH_GITHUB_AUTHORIZATION_URL: `${github.url}/login/oauth/authorize`,
      OAUTH_GITHUB_TOKEN_URL: `${github.url}/login/oauth/access_token`,
      OAUTH_GITHUB_USERINFO_URL: `${github.url}/user`,
    },
  });
});

after(async () => {
  await server?.close();
  await alpha?.close();
  await beta?.close();
  await github?.close();
});

// ---------------------------------------------------------------------------------------------------------
// The flow, step by step

let accounts = 0;
function account(provider: TestOidcProvider, claims: AccountClaims): string {
  accounts += 1;
  const id = `account-${accounts}-${randomBytes(3).toString('hex')}`;
  provider.setAccount(id, claims);
  return id;
}

interface Started {
  authorizationUrl: URL;
  state: string;
  binding: string;
  res: LightMyRequestResponse;
}

/** GET /auth/oauth/:provider: Gatehouse sends the browser to the provider. */
async function begin(provider: string, redirectTo?: string): Promise<Started> {
  const query = redirectTo === undefined ? '' : `?redirect_to=${encodeURIComponent(redirectTo)}`;
  const res = await call(server.app, 'GET', `/auth/oauth/${provider}${query}`);
  assert.equal(res.statusCode, 302, res.body);
  const authorizationUrl = new URL(res.headers.location as string);
  return { authorizationUrl, state: authorizationUrl.searchParams.get('state')!, binding: cookiesOf(res).gh_oauth!.value, res };
}

/** The user at the provider: signs in (and consents) or cancels; the provider sends the browser back. */
async function atProvider(url: URL, options: { login?: string; deny?: boolean }): Promise<URL> {
  const back = await followToCallback(url, { stopAt: PUBLIC_URL, ...options });
  const code = back.searchParams.get('code');
  if (code) seenSecrets.push(code);
  return back;
}

/** The browser arrives at Gatehouse's callback, with the binding cookie unless told otherwise. */
function land(callback: URL, binding?: string): Promise<LightMyRequestResponse> {
  return call(server.app, 'GET', `${callback.pathname}${callback.search}`, binding === undefined ? {} : { cookies: { gh_oauth: binding } });
}

/** Where the callback sent the browser, with its query. */
function target(res: LightMyRequestResponse): URL {
  assert.equal(res.statusCode, 302, res.body);
  return new URL(res.headers.location as string);
}

function codeOf(res: LightMyRequestResponse): string {
  const url = target(res);
  assert.equal(url.searchParams.get('error'), null, `the callback failed: ${url.href}`);
  const code = url.searchParams.get('code')!;
  seenSecrets.push(code);
  return code;
}

function exchange(code: string, mode?: string): Promise<LightMyRequestResponse> {
  return call(server.app, 'POST', '/auth/oauth/exchange', { body: { code, ...(mode ? { mode } : {}) } });
}

/** The whole flow up to the one-time code. */
async function signInCode(provider: string, login: string, redirectTo: string = APP): Promise<string> {
  const started = await begin(provider, redirectTo);
  const back = await atProvider(started.authorizationUrl, { login });
  return codeOf(await land(back, started.binding));
}

/** The whole flow, then the exchange in a mode. */
async function signIn(provider: string, login: string, mode?: string) {
  const res = await exchange(await signInCode(provider, login), mode);
  assert.equal(res.statusCode, 200, res.body);
  return { res, body: res.json(), cookies: cookiesOf(res) };
}

async function userCount(): Promise<number> {
  const row = await server.runtime.database.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

async function identityCount(): Promise<number> {
  const row = await server.runtime.database.db.selectFrom('identities').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Rewrites what Gatehouse stored for a pending sign-in, as an attacker with a different verifier or nonce would have it. */
async function tamperPending(state: string, change: (pending: Record<string, unknown>) => void): Promise<void> {
  const key = `oauth:state:${sha256(state)}`;
  const raw = await server.runtime.ctx.state.get(key);
  assert.ok(raw, 'the pending sign-in is kept in the shared state');
  const pending = JSON.parse(raw);
  change(pending);
  await server.runtime.ctx.state.put(key, JSON.stringify(pending), 60_000);
}

async function markVerified(userId: string): Promise<void> {
  const now = server.runtime.ctx.now();
  await server.runtime.ctx.users.update(userId, { emailVerifiedAt: now }, now);
}

// ---------------------------------------------------------------------------------------------------------

describe('OpenID Connect sign-in', () => {
  it('redirects with state, PKCE S256 and a nonce, and signs a new user in with a verified account', async () => {
    const email = uniqueEmail('oidc');
    const login = account(alpha, { email, email_verified: true, name: 'Ada Lovelace' });
    const usersBefore = await userCount();

    const started = await begin('acme', APP);
    const q = started.authorizationUrl.searchParams;
    assert.equal(started.authorizationUrl.origin + started.authorizationUrl.pathname, `${alpha.issuer}/auth`);
    assert.equal(q.get('client_id'), CLIENT_ID);
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('redirect_uri'), callbackOf('acme'));
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    assert.match(started.state, /^[A-Za-z0-9_-]{43,}$/);
    assert.match(q.get('nonce')!, /^[A-Za-z0-9_-]{43,}$/);
    assert.deepEqual(q.get('scope')!.split(' ').sort(), ['email', 'openid', 'profile']);
    assert.ok(!started.authorizationUrl.href.includes(CLIENT_SECRET), 'the client secret is never in a URL');
    const binding = cookiesOf(started.res).gh_oauth!.raw;
    assert.match(binding, /HttpOnly/);
    assert.match(binding, /SameSite=Lax/);
    assert.match(binding, /Path=\/auth\/oauth/);
    assert.equal(started.res.headers['cache-control'], 'no-store');

    const back = await atProvider(started.authorizationUrl, { login });
    assert.equal(back.origin + back.pathname, callbackOf('acme'));
    assert.equal(back.searchParams.get('iss'), alpha.issuer);
    const landed = await land(back, started.binding);
    const url = target(landed);
    assert.equal(`${url.origin}${url.pathname}`, APP);
    assert.deepEqual([...url.searchParams.keys()], ['code']);
    const code = codeOf(landed);
    assert.match(code, /^gho_[A-Za-z0-9_-]{43}$/);

    const res = await exchange(code);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.user.email, email);
    assert.equal(body.user.name, 'Ada Lovelace');
    assert.equal(body.user.emailVerified, true);
    assert.equal(body.tokenType, 'Bearer');
    assert.ok(body.accessToken && body.refreshToken);
    assert.equal(await userCount(), usersBefore + 1);

    const me = await call(server.app, 'GET', '/auth/me', { token: body.accessToken });
    assert.equal(me.json().user.id, body.user.id);
    const identities = await call(server.app, 'GET', '/auth/identities', { token: body.accessToken });
    assert.equal(identities.statusCode, 200);
    assert.equal(identities.json().hasPassword, false);
    assert.deepEqual(
      identities.json().identities.map((i: { provider: string; email: string; emailVerified: boolean }) => [i.provider, i.email, i.emailVerified]),
      [['acme', email, true]],
    );
  });

  it('signs the same person in again in cookie and session modes, to the same account', async () => {
    const email = uniqueEmail('modes');
    const login = account(alpha, { email, email_verified: true });
    const first = await signIn('acme', login);
    const usersBefore = await userCount();

    const cookie = await signIn('acme', login, 'cookie');
    assert.equal(cookie.body.user.id, first.body.user.id);
    assert.ok(cookie.body.accessToken);
    assert.equal(cookie.body.refreshToken, undefined);
    assert.match(cookie.cookies.gh_refresh!.raw, /HttpOnly/);
    assert.match(cookie.cookies.gh_refresh!.raw, /SameSite=Strict/);
    assert.match(cookie.cookies.gh_refresh!.raw, /Path=\/auth/);

    const session = await signIn('acme', login, 'session');
    assert.deepEqual(Object.keys(session.body), ['user']);
    assert.equal(session.body.user.id, first.body.user.id);
    const me = await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: session.cookies.gh_session!.value } });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().user.id, first.body.user.id);
    assert.equal(await userCount(), usersBefore, 'no second account');
  });

  it('the preset (google) works against any issuer given by OAUTH_GOOGLE_ISSUER', async () => {
    const email = uniqueEmail('google');
    const { body } = await signIn('google', account(alpha, { email, email_verified: true }));
    assert.equal(body.user.email, email);
  });

  it('refuses unknown providers', async () => {
    expectError(await call(server.app, 'GET', '/auth/oauth/nope'), 404, 'not_found');
    expectError(await call(server.app, 'GET', '/auth/oauth/nope/callback?code=x&state=y'), 404, 'not_found');
  });
});

describe('the one-time code', () => {
  it('is single use and lives 60 seconds', async () => {
    const login = account(alpha, { email: uniqueEmail('code'), email_verified: true });
    const code = await signInCode('acme', login);
    assert.equal((await exchange(code)).statusCode, 200);
    expectError(await exchange(code), 400, 'invalid_or_expired_token');

    const late = await signInCode('acme', login);
    server.clock!.advance(61_000);
    expectError(await exchange(late), 400, 'invalid_or_expired_token');

    expectError(await exchange('gho_not-a-real-code'), 400, 'invalid_or_expired_token');
    expectError(await exchange(''), 400, 'invalid_or_expired_token');
    expectError(await call(server.app, 'POST', '/auth/oauth/exchange', { body: {} }), 400, 'validation_failed');
    expectError(await call(server.app, 'POST', '/auth/oauth/exchange', { body: { code: 'x', mode: 'magic' } }), 400, 'validation_failed');
  });

  it('two exchanges of one code at once: exactly one wins', async () => {
    const code = await signInCode('acme', account(alpha, { email: uniqueEmail('race'), email_verified: true }));
    const results = await Promise.all([exchange(code), exchange(code), exchange(code)]);
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 400, 400]);
  });

  it('a code issued before the account was disabled does not sign it in; nor does a new sign-in', async () => {
    const login = account(alpha, { email: uniqueEmail('disabled'), email_verified: true });
    const { body } = await signIn('acme', login);
    const code = await signInCode('acme', login);
    const now = server.runtime.ctx.now();
    await server.runtime.ctx.users.update(body.user.id, { disabledAt: now }, now);
    expectError(await exchange(code), 403, 'account_disabled');
    const started = await begin('acme', APP);
    const url = target(await land(await atProvider(started.authorizationUrl, { login }), started.binding));
    assert.equal(url.searchParams.get('error'), 'account_disabled');
    assert.equal(url.searchParams.get('code'), null);
  });
});

describe('redirect_to', () => {
  it('ends at the first allow-listed URL by default, or at the allow-listed URL asked for', async () => {
    const login = account(alpha, { email: uniqueEmail('default'), email_verified: true });
    for (const [asked, expected] of [[undefined, APP], [`${PUBLIC_URL}/`, `${PUBLIC_URL}/`]] as const) {
      const started = await begin('acme', asked);
      const landed = await land(await atProvider(started.authorizationUrl, { login }), started.binding);
      const url = target(landed);
      assert.equal(`${url.origin}${url.pathname}`, expected);
      assert.equal((await exchange(codeOf(landed))).statusCode, 200);
    }
  });

  it('refuses anything that is not exactly an allow-listed URL (400), before going to the provider', async () => {
    for (const bad of [
      'https://evil.test/',
      `${APP}/`,
      `${APP}?next=/admin`,
      `${APP}#x`,
      'HTTP://APP.TEST/signed-in',
      'http://app.test.evil.test/signed-in',
      'http://app.test@evil.test/signed-in',
      '//evil.test',
      `${PUBLIC_URL}//evil.test`,
      `${PUBLIC_URL}`,
      'javascript:alert(1)',
      '',
    ]) {
      const res = await call(server.app, 'GET', `/auth/oauth/acme?redirect_to=${encodeURIComponent(bad)}`);
      expectError(res, 400, 'validation_failed');
      assert.equal(res.json().error.details[0].field, 'redirect_to');
      assert.equal(res.headers.location, undefined);
    }
  });
});

describe('state', () => {
  it('a wrong or missing state is refused (400) and makes no account; the real one still works', async () => {
    const login = account(alpha, { email: uniqueEmail('state'), email_verified: true });
    const usersBefore = await userCount();
    const started = await begin('acme', APP);
    const back = await atProvider(started.authorizationUrl, { login });

    const wrong = new URL(back);
    wrong.searchParams.set('state', `${started.state}x`);
    expectError(await land(wrong, started.binding), 400, 'invalid_or_expired_token');
    const missing = new URL(back);
    missing.searchParams.delete('state');
    expectError(await land(missing, started.binding), 400, 'invalid_or_expired_token');
    assert.equal(await userCount(), usersBefore);

    codeOf(await land(back, started.binding));
    assert.equal(await userCount(), usersBefore + 1);
  });

  it('a state works once: a replayed callback is refused, and of two at once only one goes through', async () => {
    const login = account(alpha, { email: uniqueEmail('replay'), email_verified: true });
    const started = await begin('acme', APP);
    const back = await atProvider(started.authorizationUrl, { login });
    codeOf(await land(back, started.binding));
    expectError(await land(back, started.binding), 400, 'invalid_or_expired_token');

    const again = await begin('acme', APP);
    const back2 = await atProvider(again.authorizationUrl, { login });
    const results = await Promise.all([land(back2, again.binding), land(back2, again.binding)]);
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [302, 400]);
  });

  it('a state expires after 10 minutes', async () => {
    const login = account(alpha, { email: uniqueEmail('slow'), email_verified: true });
    const started = await begin('acme', APP);
    const back = await atProvider(started.authorizationUrl, { login });
    server.clock!.advance(10 * 60_000 + 1000);
    expectError(await land(back, started.binding), 400, 'invalid_or_expired_token');
  });

  it('the callback must come back to the browser that started (binding cookie), else 400 and the state is spent', async () => {
    const login = account(alpha, { email: uniqueEmail('csrf'), email_verified: true });
    const usersBefore = await userCount();
    const started = await begin('acme', APP);
    const back = await atProvider(started.authorizationUrl, { login });
    // An attacker sends the victim the callback of a sign-in the attacker started: the victim's browser has
    // no (or another) binding cookie.
    expectError(await land(back), 400, 'invalid_or_expired_token');
    const other = await begin('acme', APP);
    const back2 = await atProvider(other.authorizationUrl, { login });
    expectError(await land(back2, started.binding), 400, 'invalid_or_expired_token');
    expectError(await land(back2, other.binding), 400, 'invalid_or_expired_token');
    assert.equal(await userCount(), usersBefore);
  });

  it('one browser can run two sign-ins at once (the binding cookie is reused)', async () => {
    const login = account(alpha, { email: uniqueEmail('tabs'), email_verified: true });
    const first = await begin('acme', APP);
    const res = await call(server.app, 'GET', `/auth/oauth/acme?redirect_to=${encodeURIComponent(APP)}`, { cookies: { gh_oauth: first.binding } });
    const second = { authorizationUrl: new URL(res.headers.location as string), binding: cookiesOf(res).gh_oauth!.value };
    assert.equal(second.binding, first.binding);
    codeOf(await land(await atProvider(first.authorizationUrl, { login }), first.binding));
    codeOf(await land(await atProvider(second.authorizationUrl, { login }), first.binding));
  });
});

describe('protocol checks', () => {
  it("the provider's authorization code works once: replayed under a fresh state it is refused", async () => {
    const login = account(alpha, { email: uniqueEmail('code-replay'), email_verified: true });
    const first = await begin('acme', APP);
    const back = await atProvider(first.authorizationUrl, { login });
    codeOf(await land(back, first.binding));

    const fresh = await begin('acme', APP);
    const replay = new URL(back);
    replay.searchParams.set('state', fresh.state);
    expectError(await land(replay, fresh.binding), 400, 'oauth_failed');
  });

  it('a wrong or missing PKCE verifier is refused and makes no account', async () => {
    const usersBefore = await userCount();
    for (const verifier of ['Z'.repeat(43), '']) {
      const login = account(alpha, { email: uniqueEmail('pkce'), email_verified: true });
      const started = await begin('acme', APP);
      await tamperPending(started.state, (p) => (p.verifier = verifier));
      const back = await atProvider(started.authorizationUrl, { login });
      expectError(await land(back, started.binding), 400, 'oauth_failed');
    }
    assert.equal(await userCount(), usersBefore);
  });

  it('a wrong nonce in the id_token is refused', async () => {
    const usersBefore = await userCount();
    const login = account(alpha, { email: uniqueEmail('nonce'), email_verified: true });
    const started = await begin('acme', APP);
    await tamperPending(started.state, (p) => (p.nonce = 'a-nonce-this-sign-in-never-sent'));
    expectError(await land(await atProvider(started.authorizationUrl, { login }), started.binding), 400, 'oauth_failed');
    assert.equal(await userCount(), usersBefore);
  });

  it('mix-up: an answer from another issuer at this provider\'s callback is refused, with or without its iss', async () => {
    const usersBefore = await userCount();
    const login = account(beta, { email: uniqueEmail('mixup'), email_verified: true });
    for (const stripIss of [false, true]) {
      const started = await begin('acme', APP);
      // The user is sent to beta (the attacker's provider) with acme's request.
      const atBeta = new URL(`${started.authorizationUrl.pathname}${started.authorizationUrl.search}`, beta.issuer);
      const back = await atProvider(atBeta, { login });
      assert.equal(back.searchParams.get('iss'), beta.issuer);
      if (stripIss) back.searchParams.delete('iss');
      expectError(await land(back, started.binding), 400, 'oauth_failed');
    }
    assert.equal(await userCount(), usersBefore);
  });

  it('an id_token signed by another issuer is refused (iss check)', async () => {
    const usersBefore = await userCount();
    const logsBefore = server.logs.length;
    const login = account(beta, { email: uniqueEmail('issuer'), email_verified: true });
    const started = await begin('mixed', APP);
    assert.equal(started.authorizationUrl.origin, beta.issuer);
    const back = await atProvider(started.authorizationUrl, { login });
    // Without the iss parameter, only the id_token can tell; it says beta, not alpha.
    back.searchParams.delete('iss');
    expectError(await land(back, started.binding), 400, 'oauth_failed');
    assert.equal(await userCount(), usersBefore);
    const refusal = server.logs.slice(logsBefore).find((line) => line.includes('oauth callback refused'));
    assert.match(refusal ?? '', /\(issuer\) claim value/, 'refused because of the id_token issuer');
  });
});

describe('malformed callbacks', () => {
  it('are 400s, never 500s', async () => {
    const started = await begin('acme', APP);
    expectError(await land(new URL(`${callbackOf('acme')}?state=${'x'.repeat(600)}`), started.binding), 400, 'invalid_or_expired_token');
    expectError(await land(new URL(`${callbackOf('acme')}?state=a&state=b`), started.binding), 400, 'validation_failed');
    expectError(await call(server.app, 'GET', `/auth/oauth/acme?redirect_to=${encodeURIComponent(APP)}&redirect_to=x`), 400, 'validation_failed');
    expectError(await call(server.app, 'GET', `/auth/oauth/${'a'.repeat(100)}`), 400, 'validation_failed');
    expectError(await call(server.app, 'POST', '/auth/oauth/exchange', { body: { code: 'gho_'.padEnd(600, 'x') } }), 400, 'validation_failed');
    expectError(await call(server.app, 'POST', '/auth/oauth/exchange', { body: '{"code":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
    // A real state, but neither a code nor an error.
    expectError(await land(new URL(`${callbackOf('acme')}?state=${started.state}&iss=${encodeURIComponent(alpha.issuer)}`), started.binding), 400, 'oauth_failed');
  });
});

describe('linking by e-mail', () => {
  it('an unverified provider e-mail that matches an account: no link, no merge, no duplicate', async () => {
    const { email, body } = await registerUser(server.app);
    await markVerified(body.user.id);
    const usersBefore = await userCount();
    const identitiesBefore = await identityCount();
    const login = account(alpha, { email, email_verified: false });
    const started = await begin('acme', APP);
    const url = target(await land(await atProvider(started.authorizationUrl, { login }), started.binding));
    assert.equal(url.searchParams.get('error'), 'email_taken');
    assert.ok(url.searchParams.get('error_description'));
    assert.equal(url.searchParams.get('code'), null);
    assert.equal(await userCount(), usersBefore);
    assert.equal(await identityCount(), identitiesBefore);
    assert.equal(await server.runtime.ctx.identities.find('acme', login), null);
  });

  it('a verified provider e-mail matching a verified account links to it', async () => {
    const { email, body } = await registerUser(server.app);
    await markVerified(body.user.id);
    const usersBefore = await userCount();
    const login = account(alpha, { email: email.toUpperCase(), email_verified: true });
    const signedIn = await signIn('acme', login);
    assert.equal(signedIn.body.user.id, body.user.id);
    assert.equal(await userCount(), usersBefore);
    assert.equal((await server.runtime.ctx.identities.find('acme', login))!.userId, body.user.id);
    await passwordLogin(email);
    // Next time the identity alone finds the account.
    assert.equal((await signIn('acme', login)).body.user.id, body.user.id);
  });

  it('a verified provider e-mail matching an account whose own e-mail is unverified: refused, not linked', async () => {
    const { email } = await registerUser(server.app);
    const usersBefore = await userCount();
    const login = account(alpha, { email, email_verified: true });
    const started = await begin('acme', APP);
    const url = target(await land(await atProvider(started.authorizationUrl, { login }), started.binding));
    assert.equal(url.searchParams.get('error'), 'email_taken');
    assert.equal(await userCount(), usersBefore);
    assert.equal(await server.runtime.ctx.identities.find('acme', login), null);
  });

  it('two first sign-ins of the same new person at once make one account', async () => {
    const login = account(alpha, { email: uniqueEmail('twice'), email_verified: true });
    const usersBefore = await userCount();
    const one = await begin('acme', APP);
    const two = await begin('acme', APP);
    const backs = [await atProvider(one.authorizationUrl, { login }), await atProvider(two.authorizationUrl, { login })];
    const [a, b] = await Promise.all([land(backs[0]!, one.binding), land(backs[1]!, two.binding)]);
    const ids = await Promise.all([exchange(codeOf(a!)), exchange(codeOf(b!))]);
    assert.equal(ids[0]!.json().user.id, ids[1]!.json().user.id);
    assert.equal(await userCount(), usersBefore + 1);
  });

  it('an unverified provider e-mail with no matching account makes a new, unverified account', async () => {
    const email = uniqueEmail('unverified');
    const { body } = await signIn('acme', account(alpha, { email, email_verified: false }));
    assert.equal(body.user.email, email);
    assert.equal(body.user.emailVerified, false);
  });
});

async function passwordLogin(email: string) {
  return login(server.app, email, PASSWORD);
}

describe('provider errors', () => {
  it('the user cancels at the provider: back to redirect_to with error, no account', async () => {
    const usersBefore = await userCount();
    const started = await begin('acme', APP);
    const back = await atProvider(started.authorizationUrl, { deny: true });
    assert.equal(back.searchParams.get('error'), 'access_denied');
    const url = target(await land(back, started.binding));
    assert.equal(`${url.origin}${url.pathname}`, APP);
    assert.equal(url.searchParams.get('error'), 'oauth_failed');
    assert.equal(url.searchParams.get('provider_error'), 'access_denied');
    assert.equal(url.searchParams.get('code'), null);
    assert.equal(await userCount(), usersBefore);
    // The state was spent by the error too.
    expectError(await land(back, started.binding), 400, 'invalid_or_expired_token');
  });

  it('a token endpoint that cannot be reached: a clear service_unavailable, never a 500 or half an account', async () => {
    const usersBefore = await userCount();
    const login = account(alpha, { email: uniqueEmail('down'), email_verified: true });
    const started = await begin('down', APP);
    const res = await land(await atProvider(started.authorizationUrl, { login }), started.binding);
    const url = target(res);
    assert.equal(url.searchParams.get('error'), 'service_unavailable');
    assert.equal(url.searchParams.get('code'), null);
    assert.equal(await userCount(), usersBefore);
  });

  it('a provider whose discovery cannot be reached: 503 at the start', async () => {
    const res = await call(server.app, 'GET', '/auth/oauth/gone');
    expectError(res, 503, 'service_unavailable');
    assert.equal(res.headers['retry-after'], '5');
  });
});

describe('identities', () => {
  it('lists them; the last way to sign in cannot be removed (409); another can', async () => {
    const email = uniqueEmail('ids');
    const { body } = await signIn('acme', account(alpha, { email, email_verified: true }));
    const token = body.accessToken;
    expectError(await call(server.app, 'DELETE', '/auth/identities/acme', { token }), 409, 'conflict');
    expectError(await call(server.app, 'DELETE', '/auth/identities/github', { token }), 404, 'not_found');

    // The same person at the google preset: a verified e-mail on both sides links it.
    const viaGoogle = await signIn('google', account(alpha, { email, email_verified: true }));
    assert.equal(viaGoogle.body.user.id, body.user.id);
    const list = await call(server.app, 'GET', '/auth/identities', { token });
    assert.deepEqual(list.json().identities.map((i: { provider: string }) => i.provider).sort(), ['acme', 'google']);

    const removed = await call(server.app, 'DELETE', '/auth/identities/acme', { token });
    assert.equal(removed.statusCode, 204, removed.body);
    expectError(await call(server.app, 'DELETE', '/auth/identities/google', { token }), 409, 'conflict');
    assert.deepEqual((await call(server.app, 'GET', '/auth/identities', { token })).json().identities.map((i: { provider: string }) => i.provider), ['google']);
  });

  it('needs authentication, and CSRF for a cookie session', async () => {
    expectError(await call(server.app, 'GET', '/auth/identities'), 401, 'authentication_required');
    expectError(await call(server.app, 'DELETE', '/auth/identities/acme'), 401, 'authentication_required');
    const session = await signIn('acme', account(alpha, { email: uniqueEmail('csrf-ids'), email_verified: true }), 'session');
    const cookie = session.cookies.gh_session!.value;
    expectError(await call(server.app, 'DELETE', '/auth/identities/acme', { cookies: { gh_session: cookie } }), 403, 'csrf_failed');
    const token = await csrf(server.app);
    expectError(
      await call(server.app, 'DELETE', '/auth/identities/acme', { cookies: { gh_session: cookie, gh_csrf: token.cookie }, headers: { 'x-csrf-token': token.token } }),
      409,
      'conflict',
    );
  });

  it('an account made by social login sets a password through forgot/reset, and may then unlink', async () => {
    const email = uniqueEmail('social');
    const { body } = await signIn('acme', account(alpha, { email, email_verified: true }));
    expectError(await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD } }), 401, 'invalid_credentials');

    assert.equal((await call(server.app, 'POST', '/auth/forgot-password', { body: { email } })).statusCode, 202);
    await server.runtime.ctx.background.drain();
    const mail = (await readOutbox(outboxDir(server.config))).filter((m) => m.to === email && m.subject.startsWith('Reset')).pop();
    assert.ok(mail, 'a reset e-mail was written');
    const token = linkIn(mail, '/reset-password').searchParams.get('token')!;
    const reset = await call(server.app, 'POST', '/auth/reset-password', { body: { token, password: PASSWORD } });
    assert.equal(reset.statusCode, 204, reset.body);

    const { body: again } = await passwordLogin(email);
    assert.equal(again.user.id, body.user.id);
    assert.equal((await call(server.app, 'GET', '/auth/identities', { token: again.accessToken })).json().hasPassword, true);
    assert.equal((await call(server.app, 'DELETE', '/auth/identities/acme', { token: again.accessToken })).statusCode, 204);
  });
});

describe('GitHub preset (OAuth 2.0 + user and e-mails API)', () => {
  let githubIds = 1000;
  const person = (email: string, verified = true) => {
    githubIds += 1;
    return { id: githubIds, login: `octo${githubIds}`, name: null, emails: [{ email: `other${githubIds}@example.org`, primary: false, verified: true }, { email, primary: true, verified }] };
  };

  async function githubFlow(): Promise<{ started: Started; back: URL; res: LightMyRequestResponse }> {
    const started = await begin('github', APP);
    const back = await atProvider(started.authorizationUrl, {});
    return { started, back, res: await land(back, started.binding) };
  }

  it('signs in with the primary, verified address; no nonce; the secret only in the token request body', async () => {
    const email = uniqueEmail('octo');
    github.signedIn = person(email);
    const { started, res } = await githubFlow();
    const q = started.authorizationUrl.searchParams;
    assert.equal(`${started.authorizationUrl.origin}${started.authorizationUrl.pathname}`, `${github.url}/login/oauth/authorize`);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.equal(q.get('nonce'), null);
    assert.equal(q.get('scope'), 'read:user user:email');
    const exchanged = await exchange(codeOf(res));
    assert.equal(exchanged.statusCode, 200, exchanged.body);
    assert.equal(exchanged.json().user.email, email);
    assert.equal(exchanged.json().user.emailVerified, true);
    assert.equal(exchanged.json().user.name, github.signedIn.login);
    const tokenRequest = github.tokenRequests.at(-1)!;
    assert.equal(tokenRequest.get('client_secret'), GITHUB_SECRET);
    assert.match(tokenRequest.get('code_verifier')!, /^[A-Za-z0-9_-]{43,128}$/);

    // Again: the same account, found by GitHub's user id.
    const { res: second } = await githubFlow();
    assert.equal((await exchange(codeOf(second))).json().user.id, exchanged.json().user.id);
  });

  it('an unverified primary address matching an account is not linked', async () => {
    const { email } = await registerUser(server.app);
    const usersBefore = await userCount();
    github.signedIn = person(email, false);
    const { res } = await githubFlow();
    assert.equal(target(res).searchParams.get('error'), 'email_taken');
    assert.equal(await userCount(), usersBefore);
  });

  it('a declined authorization and a replayed GitHub code are clear errors', async () => {
    github.signedIn = person(uniqueEmail('octo-deny'));
    github.deny = true;
    const denied = target((await githubFlow()).res);
    assert.equal(denied.searchParams.get('error'), 'oauth_failed');
    assert.equal(denied.searchParams.get('provider_error'), 'access_denied');

    const { back, res } = await githubFlow();
    codeOf(res);
    const fresh = await begin('github', APP);
    const replay = new URL(back);
    replay.searchParams.set('state', fresh.state);
    expectError(await land(replay, fresh.binding), 400, 'oauth_failed');
  });
});

const skipShared = (await skipUnlessPostgres()) || (await skipUnlessRedis());

describe('on PostgreSQL and Redis', { skip: skipShared }, () => {
  let sqlite: TestServer;
  before(async () => {
    sqlite = server;
    server = await startTestServer({
      postgres: true,
      redis: true,
      env: { PUBLIC_URL, OAUTH_REDIRECT_ALLOWLIST: APP, OAUTH_ACME_ISSUER: alpha.issuer, OAUTH_ACME_CLIENT_ID: CLIENT_ID, OAUTH_ACME_CLIENT_SECRET: CLIENT_SECRET, REQUIRE_EMAIL_VERIFICATION: 'true' },
    });
  });
  after(async () => {
    const shared = server;
    server = sqlite;
    await shared.close();
  });

  it('signs in, links by verified e-mail, and keeps state and codes single use in Redis', async () => {
    const { body: created } = await signIn('acme', account(alpha, { email: uniqueEmail('pg'), email_verified: true }), 'session');
    assert.equal(created.user.emailVerified, true);

    const { email, body } = await registerUser(server.app);
    await markVerified(body.user.id);
    assert.equal((await signIn('acme', account(alpha, { email, email_verified: true }))).body.user.id, body.user.id);

    const login = account(alpha, { email: uniqueEmail('pg-replay'), email_verified: true });
    const started = await begin('acme', APP);
    const back = await atProvider(started.authorizationUrl, { login });
    const code = codeOf(await land(back, started.binding));
    expectError(await land(back, started.binding), 400, 'invalid_or_expired_token');
    assert.equal((await exchange(code)).statusCode, 200);
    expectError(await exchange(code), 400, 'invalid_or_expired_token');
  });

  it('with REQUIRE_EMAIL_VERIFICATION, an account the provider did not verify cannot sign in yet', async () => {
    const started = await begin('acme', APP);
    const back = await atProvider(started.authorizationUrl, { login: account(alpha, { email: uniqueEmail('pg-unverified'), email_verified: false }) });
    // Refused at the callback already: the application is told why, and no code that could be exchanged exists.
    const url = target(await land(back, started.binding));
    assert.equal(url.searchParams.get('error'), 'email_not_verified');
    assert.equal(url.searchParams.get('code'), null);
  });

  it('two first sign-ins at once make one account; two unlinks at once leave one way in', async () => {
    const email = uniqueEmail('pg-race');
    const login = account(alpha, { email, email_verified: true });
    const one = await begin('acme', APP);
    const two = await begin('acme', APP);
    const backs = [await atProvider(one.authorizationUrl, { login }), await atProvider(two.authorizationUrl, { login })];
    const landed = await Promise.all([land(backs[0]!, one.binding), land(backs[1]!, two.binding)]);
    const results = await Promise.all(landed.map((l) => exchange(codeOf(l))));
    const userId = results[0]!.json().user.id;
    assert.equal(results[1]!.json().user.id, userId);

    // A second identity for the same passwordless account, then both removed at once: one must stay.
    const ctx = server.runtime.ctx;
    assert.ok(await ctx.identities.link({ provider: 'other', subject: 'x-1', userId, email, emailVerified: true, createdAt: ctx.now() }));
    const token = results[0]!.json().accessToken;
    const deletes = await Promise.all(['acme', 'other'].map((p) => call(server.app, 'DELETE', `/auth/identities/${p}`, { token })));
    assert.deepEqual(deletes.map((d) => d.statusCode).sort(), [204, 409]);
    assert.equal((await ctx.identities.listByUser(userId)).length, 1);
  });
});

describe('settings', () => {
  const SECRET = 'k3Y-9f8s7d6f5g4h3j2k1l0pOiUyTrEwQaSz';
  const refuse = (env: Record<string, string>, variable: string) =>
    assert.throws(() => loadConfig({ GATEHOUSE_SECRET: SECRET, ...env }), (err: unknown) => err instanceof ConfigError && err.variable === variable);

  it('a preset needs only its client id and secret; generic providers need an issuer', () => {
    const config = loadConfig({
      GATEHOUSE_SECRET: SECRET,
      OAUTH_GOOGLE_CLIENT_ID: 'g',
      OAUTH_GOOGLE_CLIENT_SECRET: 'gs',
      OAUTH_GITHUB_CLIENT_ID: 'h',
      OAUTH_GITHUB_CLIENT_SECRET: 'hs',
      OAUTH_KAKAO_CLIENT_ID: 'k',
      OAUTH_KAKAO_CLIENT_SECRET: 'ks',
      OAUTH_OKTA_CLIENT_ID: 'o',
      OAUTH_OKTA_CLIENT_SECRET: 'os',
      OAUTH_OKTA_ISSUER: 'https://example.okta.com/oauth2/default',
    });
    const byName = Object.fromEntries(config.oauthProviders.map((p) => [p.name, p]));
    assert.deepEqual(Object.keys(byName).sort(), ['github', 'google', 'kakao', 'okta']);
    assert.equal(byName.google!.issuer, 'https://accounts.google.com');
    assert.equal(byName.kakao!.issuer, 'https://kauth.kakao.com');
    assert.equal(byName.github!.kind, 'github');
    assert.equal(byName.github!.tokenUrl, 'https://github.com/login/oauth/access_token');
    assert.equal(byName.okta!.kind, 'oidc');
    assert.equal(byName.okta!.label, 'Okta');
    assert.deepEqual(config.oauthRedirectAllowlist, ['http://127.0.0.1:3000/']);
    assert.deepEqual(loadConfig({ GATEHOUSE_SECRET: SECRET }).oauthProviders, []);
  });

  it('refuses incomplete or unsafe provider settings, naming the variable', () => {
    refuse({ OAUTH_GOOGLE_CLIENT_ID: 'g' }, 'OAUTH_GOOGLE_CLIENT_SECRET');
    refuse({ OAUTH_GOOGLE_CLIENT_SECRET: 'g' }, 'OAUTH_GOOGLE_CLIENT_ID');
    refuse({ OAUTH_ACME_CLIENT_ID: 'a', OAUTH_ACME_CLIENT_SECRET: 'b' }, 'OAUTH_ACME_ISSUER');
    refuse({ OAUTH_ACME_CLIENT_ID: 'a', OAUTH_ACME_CLIENT_SECRET: 'b', OAUTH_ACME_ISSUER: 'http://idp.example.com' }, 'OAUTH_ACME_ISSUER');
    refuse({ OAUTH_GOOGLE_CLIENT_ID: 'a', OAUTH_GOOGLE_CLIENT_SECRET: 'b', OAUTH_GOOGLE_TOKEN_URL: 'not a url' }, 'OAUTH_GOOGLE_TOKEN_URL');
    refuse({ OAUTH_ACME_CLIENT_ID: 'a', OAUTH_ACME_CLIENT_SECRET: 'b', OAUTH_ACME_ISSUER: 'https://idp.example.com', OAUTH_ACME_SCOPES: 'email' }, 'OAUTH_ACME_SCOPES');
    refuse({ OAUTH_REDIRECT_ALLOWLIST: 'https://app.example.com/#x' }, 'OAUTH_REDIRECT_ALLOWLIST');
    refuse({ OAUTH_REDIRECT_ALLOWLIST: 'ftp://app.example.com/' }, 'OAUTH_REDIRECT_ALLOWLIST');
  });
});

describe('logs', () => {
  it('never carry a client secret, a provider code or a one-time code', () => {
    const logs = server.logs.join('');
    assert.ok(server.logs.length > 20);
    assert.match(logs, /oauth sign-in/);
    assert.ok(seenSecrets.length > 20);
    for (const secret of [CLIENT_SECRET, GITHUB_SECRET, ...seenSecrets]) {
      assert.ok(!logs.includes(secret), `a secret reached the logs: ${secret.slice(0, 8)}…`);
    }
  });
});
