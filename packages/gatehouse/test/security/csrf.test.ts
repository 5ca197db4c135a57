// Attack catalogue: cross-site request forgery. Every state-changing route the app registers is found at
// run time (registeredRoutes, the list the OpenAPI document is built from) and sent with the victim's
// session cookie but without a CSRF token, with a wrong one, and with one issued to another browser: each
// must be 403 csrf_failed and change nothing. A route is exempt only when it is listed below as public,
// with the reason it cannot act on the cookie's behalf; so a new cookie-authenticated write route without
// CSRF makes this file fail.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { openRuntime } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config.ts';
import { registeredRoutes } from '../../src/http/plugins/openapi.ts';
import { resolveSessionCookie } from '../../src/sessions/service.ts';
import { createUser } from '../../src/users/service.ts';
import { TEST_SECRET, startTestServer, type TestServer } from '../helpers/app.ts';
import { tempDataDir } from '../helpers/backends.ts';
import { PASSWORD, call, cookiesOf, csrf, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { changedTables, snapshot } from './snapshot.ts';

/**
 * Write routes that a session cookie does not authenticate, and why a forged cross-site request to them
 * gains the attacker nothing the attacker could not do directly.
 */
const PUBLIC_WRITES: Record<string, string> = {
  'POST /auth/register': 'creates a new account from the body; reads no cookie',
  'POST /auth/login': 'authenticates by the password in the body; JSON only, so no cross-site form can send it',
  'POST /auth/refresh': 'authenticates by the refresh token; in cookie mode it checks CSRF itself (tested below)',
  'POST /auth/verify-email': 'authenticated by the e-mailed token in the body',
  'POST /auth/forgot-password': 'takes an address in the body; answers the same for everyone',
  'POST /auth/reset-password': 'authenticated by the e-mailed token in the body',
  'POST /auth/oauth/exchange': 'authenticated by the one-time code in the body',
  'POST /auth/mfa/verify': 'authenticated by the MFA ticket in the body, which only the first factor gave; JSON only',
  'POST /auth/magic-link': 'takes an address in the body; answers the same for everyone; JSON only',
  'POST /auth/magic-link/verify': 'authenticated by the e-mailed link token or code in the body; JSON only',
  'POST /auth/mfa/reset': 'takes an address in the body; answers the same for everyone',
  'POST /auth/mfa/reset/confirm': 'authenticated by the e-mailed token in the body',
  'POST /auth/not-me': 'authenticated by the e-mailed token in the body',
  'POST /auth/email/confirm': 'authenticated by the e-mailed token in the body',
  'POST /auth/email/revert': 'authenticated by the e-mailed token in the body',
  'POST /auth/passkeys/login/options': 'issues a sign-in challenge; reads no cookie',
  'POST /auth/passkeys/login': "authenticated by the passkey's signature over a challenge; JSON only",
  'POST /auth/mfa/webauthn/options': 'authenticated by the MFA ticket in the body, which only the first factor gave',
  'POST /verify-email': 'the e-mail link page: authenticated by the token in the form',
  'POST /reset-password': 'the e-mail link page: authenticated by the token in the form',
  'POST /mfa-reset': 'the e-mail link page: authenticated by the token in the form',
  'POST /not-me': 'the e-mail link page: authenticated by the token in the form',
};

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

let server: TestServer;
let victim: { id: string; email: string; session: string; csrf: { token: string; cookie: string }; bearer: string; otherSessionId: string; apiKeyId: string };
let target: { id: string };
let attackerCsrf: { token: string; cookie: string };
let doc: { paths: Record<string, Record<string, any>> };

/** The victim (an admin, signed in by cookie and by token), a user to act on, and an attacker's CSRF token. */
async function setUp(): Promise<void> {
  // The victim is an admin, so that every admin route would really act if the forgery got through.
  const email = uniqueEmail('victim');
  await createUser(server.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true } as never);
  const session = (await login(server.app, email, PASSWORD, 'session')).cookies.gh_session!.value;
  const other = await login(server.app, email);
  const sessions = (await call(server.app, 'GET', '/auth/sessions', { token: other.body.accessToken })).json().sessions as Array<{ id: string; current: boolean }>;
  const key = await call(server.app, 'POST', '/auth/api-keys', { token: other.body.accessToken, body: { name: 'victim key', scopes: ['introspect'] } });
  assert.equal(key.statusCode, 201, key.body);
  victim = {
    id: other.body.user.id,
    email,
    session,
    csrf: await csrf(server.app),
    bearer: other.body.accessToken,
    otherSessionId: sessions.find((s) => s.current)!.id,
    apiKeyId: key.json().id,
  };
  target = { id: (await registerUser(server.app)).body.user.id };
  attackerCsrf = await csrf(server.app);
  assert.notEqual(attackerCsrf.cookie, victim.csrf.cookie);
  doc = server.app.swagger() as never;
}

before(async () => {
  server = await startTestServer({ env: { LOG_LEVEL: 'warn' } });
  await setUp();
});
after(() => server?.close());

/** Path parameters that name something the victim could really act on. */
function fillPath(url: string): string {
  return url
    .replace('/auth/sessions/:id', `/auth/sessions/${victim.otherSessionId}`)
    .replace('/admin/users/:id', `/admin/users/${target.id}`)
    .replace('/auth/api-keys/:id', `/auth/api-keys/${victim.apiKeyId}`)
    .replace(':provider', 'acme')
    .replace(/:[A-Za-z]+/g, 'x');
}

/** A value that passes the schema, so that CSRF (not validation) is what the answer is about. */
function example(schema: any, field = ''): unknown {
  if (!schema || typeof schema !== 'object') return 'x';
  if (schema.anyOf ?? schema.oneOf) return example((schema.anyOf ?? schema.oneOf)[0], field);
  if (schema.enum) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of schema.required ?? []) out[name] = example(schema.properties?.[name], name);
      // A write with nothing to write may be a no-op; give the optional fields that change something.
      if (schema.properties?.name && !out.name) out.name = 'Forged by another site';
      if (schema.properties?.role && !out.role) out.role = 'user';
      return out;
    }
    case 'array':
      return [];
    case 'boolean':
      return true;
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    default:
      if (/email/i.test(field)) return victim.email;
      if (/^currentPassword$|^password$/.test(field)) return PASSWORD;
      if (/password/i.test(field)) return 'a brand new passphrase for the attacker';
      if (/token|code/i.test(field)) return schema.maxLength !== undefined && schema.maxLength < victim.bearer.length ? '123456' : victim.bearer;
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
  }
}

/** The body the OpenAPI document says the route takes, as the content type it takes. */
function bodyFor(method: string, url: string): { payload?: string; contentType?: string } {
  const openApiPath = url.replace(/:([A-Za-z]+)/g, '{$1}');
  const content = doc.paths[openApiPath]?.[method.toLowerCase()]?.requestBody?.content as Record<string, { schema: unknown }> | undefined;
  if (!content) return {};
  if (content['application/json']) return { payload: JSON.stringify(example(content['application/json'].schema)), contentType: 'application/json' };
  const [type, { schema }] = Object.entries(content)[0]!;
  const value = example(schema) as Record<string, string>;
  return { payload: new URLSearchParams(value).toString(), contentType: type };
}

function send(method: string, url: string, cookies: Record<string, string>, csrfHeader?: string): Promise<LightMyRequestResponse> {
  const { payload, contentType } = bodyFor(method, url);
  const headers: Record<string, string> = {
    cookie: Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; '),
    // What a browser adds to a cross-site request; the server must not need it to refuse.
    origin: 'https://evil.test',
    ...(contentType ? { 'content-type': contentType } : {}),
    ...(csrfHeader === undefined ? {} : { 'x-csrf-token': csrfHeader }),
  };
  return server.app.inject({ method: method as 'POST', url: fillPath(url), headers, payload });
}

function cookieWrites(): Array<{ method: string; url: string }> {
  return registeredRoutes(server.app).filter((r) => !SAFE.has(r.method) && !(`${r.method} ${r.url}` in PUBLIC_WRITES));
}

function flip(text: string): string {
  return (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
}

type Attempt = (routeCsrf: { token: string; cookie: string }) => { cookies: Record<string, string>; header?: string };

const attempts: Array<[string, Attempt]> = [
  ['no CSRF token', () => ({ cookies: { gh_session: victim.session, gh_csrf: victim.csrf.cookie } })],
  ['no CSRF token and no CSRF cookie', () => ({ cookies: { gh_session: victim.session } })],
  ['an empty CSRF header', () => ({ cookies: { gh_session: victim.session, gh_csrf: victim.csrf.cookie }, header: '' })],
  ['a wrong CSRF token', () => ({ cookies: { gh_session: victim.session, gh_csrf: victim.csrf.cookie }, header: 'not-a-csrf-token' })],
  ['the right token with one character changed', () => ({ cookies: { gh_session: victim.session, gh_csrf: victim.csrf.cookie }, header: flip(victim.csrf.token) })],
  ['the nonce cookie echoed as the token (naive double submit)', () => ({ cookies: { gh_session: victim.session, gh_csrf: victim.csrf.cookie }, header: victim.csrf.cookie })],
  ["another browser's valid CSRF token", () => ({ cookies: { gh_session: victim.session, gh_csrf: victim.csrf.cookie }, header: attackerCsrf.token })],
  ["another browser's token, and no CSRF cookie", () => ({ cookies: { gh_session: victim.session }, header: attackerCsrf.token })],
  ['the token with no session-bound cookie, session cookie only', () => ({ cookies: { gh_session: victim.session }, header: victim.csrf.token })],
];

/**
 * Sends every cookie-authenticated write with a forged request; returns what went wrong (a route that did
 * not answer 403 csrf_failed, or a change to the database or the shared state). Empty is the proof.
 */
async function forgeryFindings(attempt: Attempt): Promise<string[]> {
  const findings: string[] = [];
  const before = await snapshot(server);
  for (const { method, url } of cookieWrites()) {
    const { cookies, header } = attempt(victim.csrf);
    const res = await send(method, url, cookies, header);
    const json = String(res.headers['content-type']).includes('json');
    if (res.statusCode !== 403 || (json && res.json().error?.code !== 'csrf_failed')) findings.push(`${method} ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    if (cookiesOf(res).gh_session !== undefined) findings.push(`${method} ${url}: touched the session cookie`);
  }
  const changed = changedTables(before, await snapshot(server));
  if (changed.length) findings.push(`changed: ${changed.join(', ')}`);
  return findings;
}

describe('CSRF on every cookie-authenticated write', () => {
  it('finds the write routes at run time, and every public one listed here still exists', () => {
    const all = registeredRoutes(server.app).map((r) => `${r.method} ${r.url}`);
    for (const route of Object.keys(PUBLIC_WRITES)) assert.ok(all.includes(route), `${route} is listed as public but no longer registered`);
    const writes = cookieWrites().map((r) => `${r.method} ${r.url}`);
    // The ones known today; more are welcome (they are tested below), fewer means a route lost its guard or moved.
    for (const route of ['POST /auth/logout', 'POST /auth/logout-all', 'PATCH /auth/me', 'POST /auth/password', 'DELETE /auth/sessions/:id', 'PATCH /admin/users/:id', 'DELETE /admin/users/:id', 'POST /auth/verify-email/resend', 'DELETE /auth/identities/:provider', 'POST /auth/api-keys', 'DELETE /auth/api-keys/:id', 'POST /auth/introspect']) {
      assert.ok(writes.includes(route), `${route} is not among the cookie-authenticated writes`);
    }
  });

  for (const [what, attempt] of attempts) {
    it(`${what}: every cookie-authenticated write is 403 csrf_failed and changes nothing`, async () => {
      assert.deepEqual(await forgeryFindings(attempt), []);
    });
  }

  it('the victim is still signed in with the same name, role, sessions and keys', async () => {
    const me = await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: victim.session } });
    assert.equal(me.statusCode, 200, me.body);
    assert.equal(me.json().user.role, 'admin');
    assert.notEqual(me.json().user.name, 'Forged by another site');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: victim.bearer })).statusCode, 200);
    const keys = (await call(server.app, 'GET', '/auth/api-keys', { token: victim.bearer })).json();
    assert.equal(JSON.stringify(keys).includes(victim.apiKeyId), true);
    assert.equal((await call(server.app, 'GET', `/admin/users/${target.id}`, { token: victim.bearer })).statusCode, 200);
  });

  it('with the right token the same requests pass the CSRF check (so the refusals above were about CSRF)', async () => {
    // PATCH /auth/me only: the others would end the session the checks above rely on.
    const res = await send('PATCH', '/auth/me', { gh_session: victim.session, gh_csrf: victim.csrf.cookie }, victim.csrf.token);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().user.name, 'Forged by another site');
    await call(server.app, 'PATCH', '/auth/me', { token: victim.bearer, body: { name: 'Victim' } });
  });

  it('a Bearer request needs no CSRF token: a cross-site page cannot set Authorization', async () => {
    const res = await call(server.app, 'PATCH', '/auth/me', { token: victim.bearer, body: { name: 'Victim' } });
    assert.equal(res.statusCode, 200, res.body);
  });

  it('no method override sneaks a write through a safe method', async () => {
    for (const header of ['x-http-method-override', 'x-http-method', 'x-method-override']) {
      const res = await server.app.inject({ method: 'GET', url: '/auth/me', headers: { cookie: `gh_session=${victim.session}`, [header]: 'DELETE' } });
      assert.equal(res.statusCode, 200);
      const post = await server.app.inject({ method: 'POST', url: '/auth/me?_method=PATCH', headers: { cookie: `gh_session=${victim.session}`, [header]: 'PATCH', 'content-type': 'application/json' }, payload: '{"name":"Forged"}' });
      assert.ok(post.statusCode === 404 || post.statusCode === 405, `POST /auth/me answered ${post.statusCode}`);
    }
  });
});

describe('CSRF on the refresh cookie', () => {
  it('POST /auth/refresh with only the gh_refresh cookie is 403 csrf_failed without a valid token, and rotates nothing', async () => {
    const cookieLogin = await login(server.app, victim.email, PASSWORD, 'cookie');
    const refresh = cookieLogin.cookies.gh_refresh!.value;
    const before = await snapshot(server);
    const tries: Array<[string, Record<string, string>, string | undefined]> = [
      ['no token', { gh_refresh: refresh, gh_csrf: victim.csrf.cookie }, undefined],
      ['no token, no CSRF cookie', { gh_refresh: refresh }, undefined],
      ['a wrong token', { gh_refresh: refresh, gh_csrf: victim.csrf.cookie }, flip(victim.csrf.token)],
      ["another browser's token", { gh_refresh: refresh, gh_csrf: victim.csrf.cookie }, attackerCsrf.token],
      ['the nonce as the token', { gh_refresh: refresh, gh_csrf: victim.csrf.cookie }, victim.csrf.cookie],
    ];
    for (const [what, cookies, header] of tries) {
      const res = await call(server.app, 'POST', '/auth/refresh', { cookies, headers: { origin: 'https://evil.test', ...(header === undefined ? {} : { 'x-csrf-token': header }) } });
      try {
        expectError(res, 403, 'csrf_failed');
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message}`);
      }
      assert.equal(res.json().accessToken, undefined);
    }
    assert.deepEqual(changedTables(before, await snapshot(server)), [], 'no rotation happened');
    // The refresh token is intact: with the right token it rotates once.
    const ok = await call(server.app, 'POST', '/auth/refresh', { cookies: { gh_refresh: refresh, gh_csrf: victim.csrf.cookie }, headers: { 'x-csrf-token': victim.csrf.token } });
    assert.equal(ok.statusCode, 200, ok.body);
  });
});

describe('the check itself', () => {
  it('catches a cookie-authenticated write route added without CSRF', async () => {
    // A server like the real one plus one route that trusts the session cookie alone and writes.
    const data = tempDataDir();
    const config = loadConfig({ NODE_ENV: 'test', PUBLIC_URL: 'http://127.0.0.1:3000', DATA_DIR: data.dir, GATEHOUSE_SECRET: TEST_SECRET, LOG_LEVEL: 'silent' });
    const runtime = await openRuntime(config);
    const app = await buildApp(runtime.ctx, runtime.database.db, runtime.log);
    app.post('/auth/nickname', async (request) => {
      const found = await resolveSessionCookie(runtime.ctx, request.cookies.gh_session ?? '');
      const now = runtime.ctx.now();
      await runtime.ctx.users.update(found.userId, { name: 'Changed by another site' }, now);
      return { ok: true };
    });
    await app.ready();
    const real = { server, victim, target, attackerCsrf, doc };
    server = { app, runtime, config, logs: [], clock: null, responseViolations: new Set(), close: async () => {} };
    try {
      await setUp();
      const findings = await forgeryFindings(attempts[0]![1]);
      assert.equal(findings.length, 2, findings.join('\n'));
      assert.match(findings[0]!, /^POST \/auth\/nickname: 200/);
      assert.match(findings[1]!, /^changed: users/);
    } finally {
      ({ server, victim, target, attackerCsrf, doc } = real);
      await app.close();
      await runtime.close();
      data.remove();
    }
  });
});

describe('cookie tossing over https', () => {
  // A sibling subdomain can set a cookie for the parent domain, but not a __Host- one: over https the nonce
  // lives in __Host-gh_csrf, and a planted gh_csrf (with a token fetched for it) is not what the check reads.
  let secure: TestServer;
  before(async () => {
    secure = await startTestServer({ env: { PUBLIC_URL: 'https://auth.example.test' } });
  });
  after(() => secure.close());

  it('uses a __Host- nonce cookie, and a nonce planted under the plain name is refused with its token', async () => {
    const { email } = await registerUser(secure.app);
    // Over https the session cookie carries the prefix too (test/security/cookies.test.ts).
    const session = (await login(secure.app, email, PASSWORD, 'session')).cookies['__Host-gh_session']!.value;
    const issued = await call(secure.app, 'GET', '/auth/csrf');
    const setCookie = String(issued.headers['set-cookie']);
    assert.match(setCookie, /^__Host-gh_csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const victimNonce = cookiesOf(issued)['__Host-gh_csrf']!.value;
    const victimToken = issued.json().csrfToken as string;

    // The attacker's own nonce and token, planted under the name a sibling subdomain can write.
    const attacker = await call(secure.app, 'GET', '/auth/csrf');
    const attackerNonce = cookiesOf(attacker)['__Host-gh_csrf']!.value;
    const before = await snapshot(secure);
    const tossed = await call(secure.app, 'PATCH', '/auth/me', {
      cookies: { '__Host-gh_session': session, gh_csrf: attackerNonce },
      headers: { 'x-csrf-token': attacker.json().csrfToken },
      body: { name: 'Tossed' },
    });
    expectError(tossed, 403, 'csrf_failed');
    assert.deepEqual(changedTables(before, await snapshot(secure)), []);

    const own = await call(secure.app, 'PATCH', '/auth/me', {
      cookies: { '__Host-gh_session': session, '__Host-gh_csrf': victimNonce },
      headers: { 'x-csrf-token': victimToken },
      body: { name: 'Mine' },
    });
    assert.equal(own.statusCode, 200, own.body);
  });
});
