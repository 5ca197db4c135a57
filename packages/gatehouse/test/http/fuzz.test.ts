// Generated requests against every route the app registers (found at run time, so a new route is fuzzed
// too): whatever a client sends, the answer is never a 500 and nothing crashes; every refusal of a JSON route
// is the contract's error body with the status its code has; and a refused request writes nothing (a digest
// of every table and of the shared state's values is taken before and after each request). Every answer, accepted
// or refused, is also checked against the OpenAPI document (status, content type, JSON body) by startTestServer's
// response check (test/helpers/response-check.ts); the run fails at close() on any mismatch.
//
// Time: the server reads a fake clock that the run moves forward by a few milliseconds per request, always less
// than TOUCH_INTERVAL_MS over the whole run. A valid session cookie refreshes its last-used time once a minute
// (bookkeeping, even on a request then refused for CSRF); on the wall clock a long run crossed that minute and a
// refused request "wrote" to `sessions`. On the fake clock every refused request is still checked for writes.
//
// Runs: FUZZ_RUNS, else 10,000 with CI=true and 2,000 locally. Most inputs are garbage; about a third are
// built from the route's own schema (the OpenAPI document), so they get past validation to the rules.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ERRORS } from '../../src/errors.ts';
import { registeredRoutes } from '../../src/http/plugins/openapi.ts';
import { TOUCH_INTERVAL_MS } from '../../src/sessions/service.ts';
import { createUser } from '../../src/users/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { IN_CI, skipUnlessPostgres, skipUnlessRedis } from '../helpers/backends.ts';
import { PASSWORD, call, csrf, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts';
import { addedAuditTypes, addedState, changedDatabaseTables, snapshot, type Snapshot } from '../security/snapshot.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? (IN_CI ? 10_000 : 2_000));
// PostgreSQL refuses input SQLite takes (a NUL in text), so the same requests run there too, fewer of them.
const PG_RUNS = Number(process.env.FUZZ_PG_RUNS ?? (IN_CI ? 2_000 : 500));

let server: TestServer;
/** A real OpenID provider on loopback, so that the social sign-in routes are fuzzed past "unknown provider". */
let provider: TestOidcProvider;
/** Signed-in fixtures the whole run relies on; requests that would end them are sent without their auth. */
let user: { email: string; token: string; id: string };
let admin: { token: string };
let session: { cookie: string; csrf: { token: string; cookie: string } };
let apiKey: string;
/** Fixtures that requests may legitimately use up: a refresh token to rotate, a user an admin may delete. */
let spare: { refreshToken: string; id: string; email: string };
let doc: { paths: Record<string, Record<string, any>> };

async function setUp(backend: { postgres?: boolean; redis?: boolean }): Promise<void> {
  provider = await startOidcProvider({ clientId: 'fuzz', clientSecret: 'fuzz-secret', redirectUris: ['http://127.0.0.1:3000/auth/oauth/acme/callback'] });
  server = await startTestServer({
    ...backend,
    // Near the wall clock (the OpenID provider on loopback signs with real time), moved only by the run.
    fakeClock: Date.now(),
    env: {
      LOG_LEVEL: 'warn',
      OAUTH_ACME_ISSUER: provider.issuer,
      OAUTH_ACME_CLIENT_ID: 'fuzz',
      OAUTH_ACME_CLIENT_SECRET: 'fuzz-secret',
      OAUTH_REDIRECT_ALLOWLIST: 'http://app.test/signed-in',
      // Generous limits keep most requests reaching the rules; some 429s are still generated below.
      RATE_LIMIT_LOGIN_ACCOUNT: '100000/15m',
      RATE_LIMIT_LOGIN_IP: '100000/15m',
      RATE_LIMIT_SIGNUP_IP: '100000/1h',
      RATE_LIMIT_MAIL_ACCOUNT: '100000/1h',
    },
  });
  const registered = await registerUser(server.app, { mode: 'token' });
  user = { email: registered.email, token: registered.body.accessToken, id: registered.body.user.id };
  const adminEmail = uniqueEmail('fuzz-admin');
  await createUser(server.runtime.ctx, { email: adminEmail, password: PASSWORD, role: 'admin', emailVerified: true } as never);
  admin = { token: (await login(server.app, adminEmail)).body.accessToken };
  const sessionUser = await registerUser(server.app, { mode: 'session' });
  session = { cookie: sessionUser.cookies.gh_session!.value, csrf: await csrf(server.app) };
  const key = await call(server.app, 'POST', '/auth/api-keys', { token: user.token, body: { name: 'fuzz', scopes: ['introspect'] } });
  apiKey = key.json().key;
  const other = await registerUser(server.app);
  spare = { refreshToken: other.body.refreshToken, id: other.body.user.id, email: other.email };
  doc = server.app.swagger() as never;
}

async function tearDown(): Promise<void> {
  await server?.close();
  await provider?.close();
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

const FIELDS = ['email', 'password', 'name', 'mode', 'refreshToken', 'currentPassword', 'newPassword', 'token', 'token_type_hint', 'role', 'disabled', 'emailVerified', 'code', 'scopes', 'expiresAt', 'id', 'provider', 'userId', 'q', '_csrf', '__proto__', 'constructor', 'prototype'];

const jsonValue = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('token', 'cookie', 'session', 'admin', 'a@b.co', PASSWORD, 'ghr_x', 'ghv_x', 'gho_x', 'gh_x_y', '', ' ', '\u0000', '%00', '../../etc/passwd', "' or 1=1 --", '<script>alert(1)</script>'),
  fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

const garbageBody = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), jsonValue, { maxKeys: 5 }).map((o) => JSON.stringify(o)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('{', '[]', 'null', '1', '"x"', '{"a":', '\u0000', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '', '{"email":"a@b.co","email":"b@c.co"}', '\uFEFF{}', '{}'.repeat(1000)),
  fc.constant('x'.repeat(70 * 1024)),
);

const anyToken = () =>
  fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.constantFrom(`ghv_${'A'.repeat(43)}`, `ghk_${'A'.repeat(43)}`, `gho_${'A'.repeat(43)}`, `ghr_${'A'.repeat(43)}`, 'gh_abc_def', spare.refreshToken, user.token, apiKey, 'eyJhbGciOiJub25lIn0.e30.'),
  );

/** A value for one field, from its schema: mostly valid, sometimes just over a limit or of the wrong kind. */
function valueFor(schema: any, field: string): fc.Arbitrary<unknown> {
  if (!schema || typeof schema !== 'object') return jsonValue;
  const wrong = jsonValue;
  if (schema.anyOf ?? schema.oneOf) return fc.oneof({ arbitrary: fc.oneof(...(schema.anyOf ?? schema.oneOf).map((s: unknown) => valueFor(s, field))), weight: 9 }, { arbitrary: wrong, weight: 1 });
  if (schema.enum) return fc.oneof({ arbitrary: fc.constantFrom(...schema.enum), weight: 9 }, { arbitrary: wrong, weight: 1 });
  switch (schema.type) {
    case 'object':
      return objectFor(schema);
    case 'array':
      return fc.oneof(fc.array(valueFor(schema.items, field), { maxLength: 3 }), fc.array(fc.constantFrom('introspect', 'read', 'a:b.c-d_e'), { maxLength: 3 }), wrong);
    case 'boolean':
      return fc.oneof({ arbitrary: fc.boolean(), weight: 9 }, { arbitrary: wrong, weight: 1 });
    case 'integer':
    case 'number':
      return fc.oneof(fc.integer({ min: -5, max: 1000 }), wrong);
    default: {
      const max = schema.maxLength ?? 500;
      const pool: Array<fc.Arbitrary<unknown>> = [
        fc.string({ maxLength: Math.min(max, 40) }),
        fc.constant('x'.repeat(max + 1)),
        // What one database stores and another refuses: NUL, a lone surrogate, a bidi override.
        fc.constantFrom('a\u0000b', '\u0000', 'x\uD800', '\u202e', 'a\u0000@example.com'),
      ];
      if (/email/i.test(field)) pool.push(fc.constantFrom(user.email, spare.email, 'nobody@example.com', ` ${user.email.toUpperCase()} `, 'x@y', 'a@b'), fc.emailAddress());
      if (/password/i.test(field)) pool.push(fc.constantFrom(PASSWORD, 'short', 'password', 'password123', 'x'.repeat(129), 'another good passphrase'));
      if (/token|code/i.test(field)) pool.push(anyToken());
      if (/role/i.test(field)) pool.push(fc.constantFrom('user', 'admin', 'manager', 'root', ''));
      if (/expires/i.test(field)) pool.push(fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms).toISOString()), fc.constantFrom('not a date', '2020-01-01', '9999-12-31T23:59:59Z'));
      if (/name/i.test(field)) pool.push(fc.constantFrom('Ada', ' ', '\u202e', 'x'.repeat(100), 'x'.repeat(101)));
      return fc.oneof(...pool);
    }
  }
}

function objectFor(schema: any): fc.Arbitrary<Record<string, unknown>> {
  const properties: Record<string, unknown> = schema.properties ?? {};
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(properties)) shape[name] = valueFor(property, name);
  const required = (schema.required ?? []) as string[];
  return fc
    .tuple(fc.record(shape, { requiredKeys: required }), fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), jsonValue, { maxKeys: 2 }), weight: 1 }))
    .map(([valid, extra]) => (extra ? { ...extra, ...valid } : valid));
}

/** The body a route's schema describes (JSON), or form fields for the pages. */
function schemaBody(method: string, url: string): fc.Arbitrary<{ payload: string; contentType: string }> | null {
  const operation = doc.paths[url.replace(/:([A-Za-z]+)/g, '{$1}')]?.[method.toLowerCase()];
  const content = operation?.requestBody?.content as Record<string, { schema: unknown }> | undefined;
  if (content?.['application/json']) return objectFor(content['application/json'].schema).map((o) => ({ payload: JSON.stringify(o), contentType: 'application/json' }));
  if (method === 'GET' || method === 'DELETE') return null;
  const form = content ? Object.values(content)[0]!.schema : { type: 'object', properties: Object.fromEntries(FIELDS.map((f) => [f, { type: 'string', maxLength: 200 }])) };
  return objectFor(form).map((o) => ({
    payload: new URLSearchParams(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString(),
    contentType: 'application/x-www-form-urlencoded',
  }));
}

const AUTHS = ['none', 'user', 'admin', 'api-key', 'garbage', 'refresh-as-access', 'session', 'session+csrf', 'session+wrong-csrf', 'refresh-cookie+csrf', 'cookie-garbage'] as const;
type AuthKind = (typeof AUTHS)[number];

const param = () =>
  fc.oneof(
    fc.uuid(),
    fc.string({ maxLength: 80 }).map(encodeURIComponent),
    fc.constantFrom('..%2F..%2Fetc', '%00', '%2e%2e', 'acme', 'google', 'github', 'x'.repeat(201), '__proto__', 'constructor'),
    fc.constant('').map(() => spare.id),
  );

const query = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 60 }).map((s) => `?q=${encodeURIComponent(s)}&limit=${encodeURIComponent(s.slice(0, 4))}&cursor=${encodeURIComponent(s)}&token=${encodeURIComponent(s)}`),
  fc.string({ maxLength: 60 }).map((s) => `?state=${encodeURIComponent(s)}&code=${encodeURIComponent(s)}&redirect_to=${encodeURIComponent(s)}&type=${encodeURIComponent(s)}&userId=${encodeURIComponent(s)}`),
  fc.constantFrom('?redirect_to=http%3A%2F%2Fapp.test%2Fsigned-in', '?code=x&state=y&iss=http%3A%2F%2F127.0.0.1', '?error=access_denied&state=x', '?limit=-1', '?limit=1e9', '?limit=0', '?cursor=%00', '?redirect_to=https://evil.test/', '?q[]=1&q[]=2', '?__proto__[x]=1', '?token=a&token=b', `?token=ghv_${'A'.repeat(43)}`),
);

/**
 * A wrong one-time code counts against the pending code it guessed (`failures`, which kills it after five): like
 * a rate-limit counter, that is the refusal's point. True when `entry` is such an entry of `before` with only
 * its `failures` one higher (a magic-link code the run asked for, then guessed wrong).
 */
function countedFailure(before: Snapshot, entry: string): boolean {
  const at = entry.indexOf('=');
  const old = before.state.find((e) => e.startsWith(entry.slice(0, at + 1)));
  if (!old) return false;
  try {
    const was = JSON.parse(old.slice(at + 1));
    const is = JSON.parse(entry.slice(at + 1));
    return typeof was.failures === 'number' && is.failures === was.failures + 1 && JSON.stringify({ ...was, failures: 0 }) === JSON.stringify({ ...is, failures: 0 });
  } catch {
    return false;
  }
}

/** What a refusal may record: the failure itself, never an event of something done. */
const REFUSAL_EVENTS = new Set(['login_failed', 'lockout', 'refresh_reuse_detected']);

/** Requests that would end the fixtures the run depends on; sent without that fixture's auth. */
const ENDS_A_FIXTURE = new Set(['POST /auth/logout', 'POST /auth/logout-all', 'POST /auth/password', 'POST /logout', 'POST /account/password', 'POST /account/sessions/revoke-all', 'DELETE /auth/me']);

function headersFor(auth: AuthKind, route: string, contentType: string | null, accept: string): Record<string, string> {
  const headers: Record<string, string> = { accept };
  if (contentType !== null) headers['content-type'] = contentType;
  const destructive = ENDS_A_FIXTURE.has(route);
  switch (auth) {
    case 'user':
      headers.authorization = destructive ? 'Bearer x.y.z' : `Bearer ${user.token}`;
      break;
    case 'admin':
      headers.authorization = destructive ? 'Bearer x.y.z' : `Bearer ${admin.token}`;
      break;
    case 'api-key':
      headers.authorization = `Bearer ${apiKey}`;
      break;
    case 'garbage':
      headers.authorization = 'Bearer ' + 'x'.repeat(20);
      break;
    case 'refresh-as-access':
      headers.authorization = `Bearer ${spare.refreshToken}`;
      break;
    case 'session':
      headers.cookie = `gh_session=${destructive ? 'ghs_nope' : session.cookie}`;
      break;
    case 'session+csrf':
      headers.cookie = `gh_session=${destructive ? 'ghs_nope' : session.cookie}; gh_csrf=${session.csrf.cookie}`;
      headers['x-csrf-token'] = session.csrf.token;
      break;
    case 'session+wrong-csrf':
      headers.cookie = `gh_session=${session.cookie}; gh_csrf=${session.csrf.cookie}`;
      headers['x-csrf-token'] = 'A'.repeat(43);
      break;
    case 'refresh-cookie+csrf':
      headers.cookie = `gh_refresh=${spare.refreshToken}; gh_csrf=${session.csrf.cookie}`;
      headers['x-csrf-token'] = session.csrf.token;
      break;
    case 'cookie-garbage':
      headers.cookie = 'gh_session=ghs_nope; gh_refresh=ghr_nope; gh_csrf=x';
      break;
  }
  return headers;
}

/** The JSON API: its refusals must be the contract's error body. The pages answer theirs in HTML. */
function isJsonApi(url: string): boolean {
  return url.startsWith('/auth/') || url.startsWith('/.well-known/') || url === '/admin/users' || url === '/admin/users/:id' || url === '/admin/audit';
}

// ---------------------------------------------------------------------------------------------------------

describe('on SQLite', () => {
  before(() => setUp({}));
  after(tearDown);
  it(`never answers 500 to ${RUNS.toLocaleString('en')} generated requests over every route, answers refusals in the contract's shape, and a refusal writes nothing`, () => fuzz(RUNS));
});

const postgresSkip = (await skipUnlessPostgres()) || (await skipUnlessRedis());
describe('on PostgreSQL and Redis', { skip: postgresSkip }, () => {
  before(() => setUp({ postgres: true, redis: true }));
  after(tearDown);
  it(`never answers 500 to ${PG_RUNS.toLocaleString('en')} generated requests, and a refusal writes nothing to the database`, () => fuzz(PG_RUNS));
});

async function fuzz(RUNS: number): Promise<void> {
  const routes = registeredRoutes(server.app).filter((r) => r.url !== '/docs' && !r.url.startsWith('/docs/'));
  assert.ok(routes.length >= 35, `only ${routes.length} routes found`);

  const request = fc
    .record({
      route: fc.constantFrom(...routes),
      strangeMethod: fc.oneof({ arbitrary: fc.constant(undefined), weight: 29 }, { arbitrary: fc.constantFrom('PUT', 'OPTIONS', 'HEAD', 'TRACE', 'CONNECT', 'PROPFIND'), weight: 1 }),
      param: param(),
      provider: fc.oneof({ arbitrary: fc.constant('acme'), weight: 3 }, { arbitrary: param(), weight: 1 }),
      query,
      auth: fc.constantFrom(...AUTHS),
      contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'APPLICATION/JSON', ''),
      accept: fc.constantFrom('application/json', 'text/html', '*/*', 'text/html,application/xhtml+xml', ''),
      structured: fc.integer({ min: 0, max: 2 }),
      garbage: fc.option(garbageBody, { nil: undefined }),
      seed: fc.integer(),
    })
    .chain((r) => {
      const body = r.structured === 0 ? schemaBody(r.route.method, r.route.url) : null;
      return (body ?? fc.constant(null)).map((structured) => ({ ...r, structured }));
    });

  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtException', onCrash);

  const tally = { requests: 0, refused: 0, refusedChecked: 0, structured: 0, accepted: 0, byStatus: new Map<number, number>() };
  // Time moves (rate-limit windows, expiries and ids see it pass), but the whole run stays inside one touch
  // interval of the fixtures' sessions, so no refused request is one that happens to refresh last_used_at.
  const clock = server.clock!;
  const clockStart = clock.now;
  const stepMs = Math.floor((TOUCH_INTERVAL_MS - 5_000) / RUNS);
  let previous: Snapshot = await snapshot(server);
  const started = performance.now();
  try {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const method = r.strangeMethod ?? r.route.method;
        const key = `${r.route.method} ${r.route.url}`;
        const url = r.route.url.replace(':provider', r.provider).replace(/:[A-Za-z]+/g, () => r.param) + r.query;
        const payload = r.structured ? r.structured.payload : r.garbage;
        const contentType = r.structured ? r.structured.contentType : payload === undefined && r.contentType === '' ? null : r.contentType;
        const headers = headersFor(r.auth, key, contentType, r.accept);
        // A form that carries the page's CSRF field, as a real page would post it.
        const withCsrf = r.structured && r.auth === 'session+csrf' && contentType === 'application/x-www-form-urlencoded' ? `${payload ? `${payload}&` : ''}_csrf=${encodeURIComponent(session.csrf.token)}` : payload;
        clock.advance(stepMs);
        const res = await server.app.inject({ method: method as 'GET', url, headers, payload: withCsrf, remoteAddress: `10.${r.seed & 255}.0.1` });
        tally.requests += 1;
        if (r.structured) tally.structured += 1;
        tally.byStatus.set(res.statusCode, (tally.byStatus.get(res.statusCode) ?? 0) + 1);
        const what = `${method} ${url} [${r.auth}] ${contentType} ${String(withCsrf).slice(0, 120)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
        assert.ok(res.statusCode < 500 || res.statusCode === 503, what);
        assert.ok(!/\n\s+at .+:\d+:\d+/.test(res.body), `a stack trace in the answer: ${what}`);

        const now = await snapshot(server);
        if (res.statusCode >= 400) {
          tally.refused += 1;
          const type = String(res.headers['content-type'] ?? '');
          if (method === 'HEAD') {
            // No body to check.
          } else if (type.includes('json')) {
            const body = res.json();
            assert.deepEqual(Object.keys(body), ['error'], what);
            const code = body.error?.code as keyof typeof ERRORS;
            assert.ok(code in ERRORS, `unknown error code: ${what}`);
            assert.equal(ERRORS[code][0], res.statusCode, `status does not match the code: ${what}`);
            assert.equal(typeof body.error.message, 'string', what);
            if (code === 'rate_limited' || code === 'service_unavailable') assert.ok(Number(res.headers['retry-after']) > 0, `no Retry-After: ${what}`);
            tally.refusedChecked += 1;
          } else if (method !== 'HEAD') {
            assert.ok(!isJsonApi(r.route.url) || r.strangeMethod !== undefined, `a JSON route refused without the error body: ${what}`);
            assert.ok(type.includes('text/html') || type === '' || type.includes('text/plain'), `an unexpected refusal type ${type}: ${what}`);
          }
          // Presenting an already-rotated refresh token is the one refusal that must write: it ends that session.
          const code = type.includes('json') && method !== 'HEAD' ? res.json().error.code : null;
          if (code !== 'refresh_token_reused') {
            assert.deepEqual(changedDatabaseTables(previous, now), [], `a refused request wrote to the database: ${what}`);
            assert.deepEqual(addedState(previous, now).filter((entry) => !countedFailure(previous, entry)), [], `a refused request left shared state behind: ${what}`);
          }
          const events = addedAuditTypes(previous, now).filter((type) => !REFUSAL_EVENTS.has(type));
          assert.deepEqual(events, [], `a refused request recorded something done: ${what}`);
        } else {
          tally.accepted += 1;
        }
        previous = now;
      }),
      { numRuns: RUNS, endOnFailure: true, includeErrorInReport: true, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) },
    );
  } finally {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
  }
  const seconds = (performance.now() - started) / 1000;
  const statuses = [...tally.byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ');
  console.log(`# fuzz: ${tally.requests} requests over ${routes.length} routes in ${seconds.toFixed(1)} s; ${tally.structured} built from schemas; ${tally.refused} refused, ${tally.accepted} accepted; statuses ${statuses}`);

  assert.deepEqual(crashes, [], 'no unhandled rejection or exception during the run');
  assert.ok(clock.now - clockStart < TOUCH_INTERVAL_MS, 'the run stayed inside one session touch interval');
  assert.equal(tally.requests, RUNS);
  assert.ok(tally.refused > RUNS / 3, 'most generated requests are refused');
  assert.ok(tally.accepted > RUNS / 50, 'some generated requests get through to the rules and succeed');
  // The fixtures survived: their sessions were never ended by the run.
  assert.equal((await call(server.app, 'GET', '/auth/me', { token: user.token })).statusCode, 200, 'the user token still works');
  assert.equal((await call(server.app, 'GET', '/admin/users', { token: admin.token })).statusCode, 200, 'the admin token still works');
  assert.equal((await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: session.cookie } })).statusCode, 200, 'the session still works');
}
