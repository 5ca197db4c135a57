// Generated requests against every route: whatever a client sends, the answer is never a 500, always the
// contract's error body on failure, and a refused request writes nothing.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { call, registerUser } from '../helpers/http.ts';

let server: TestServer;
let token: string;
let refreshToken: string;

before(async () => {
  server = await startTestServer();
  const { body } = await registerUser(server.app, { mode: 'token' });
  token = body.accessToken;
  refreshToken = body.refreshToken;
});
after(() => server.close());

const ROUTES: Array<[string, string]> = [
  ['POST', '/auth/register'],
  ['POST', '/auth/login'],
  ['POST', '/auth/refresh'],
  ['POST', '/auth/logout'],
  ['POST', '/auth/logout-all'],
  ['GET', '/auth/me'],
  ['PATCH', '/auth/me'],
  ['POST', '/auth/password'],
  ['GET', '/auth/sessions'],
  ['DELETE', '/auth/sessions/:id'],
  ['GET', '/auth/csrf'],
  ['POST', '/auth/verify-email'],
  ['POST', '/auth/verify-email/resend'],
  ['POST', '/auth/forgot-password'],
  ['POST', '/auth/reset-password'],
  ['GET', '/auth/oauth/:id'],
  ['GET', '/auth/oauth/:id/callback'],
  ['POST', '/auth/oauth/exchange'],
  ['GET', '/auth/identities'],
  ['DELETE', '/auth/identities/:id'],
  ['GET', '/auth/api-keys'],
  ['POST', '/auth/api-keys'],
  ['DELETE', '/auth/api-keys/:id'],
  ['POST', '/auth/introspect'],
  ['GET', '/admin/audit'],
  ['GET', '/admin/users'],
  ['GET', '/admin/users/:id'],
  ['PATCH', '/admin/users/:id'],
  ['DELETE', '/admin/users/:id'],
  ['GET', '/verify-email'],
  ['POST', '/verify-email'],
  ['GET', '/reset-password'],
  ['POST', '/reset-password'],
];

const FIELDS = ['email', 'password', 'name', 'mode', 'refreshToken', 'currentPassword', 'newPassword', 'token', 'role', 'disabled', 'emailVerified', 'code', 'scopes', 'expiresAt', '__proto__', 'constructor'];

const jsonValue = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('token', 'cookie', 'session', 'admin', 'a@b.co', 'correct horse battery staple', 'ghr_x', 'ghv_x', ''),
  fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

const body = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), jsonValue, { maxKeys: 5 }).map((o) => JSON.stringify(o)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('{', '[]', 'null', '1', '"x"', '{"a":', '\u0000', '{"__proto__":{"x":1}}', ''),
);

const request = fc.record({
  route: fc.constantFrom(...ROUTES),
  param: fc.oneof(fc.uuid(), fc.string({ maxLength: 80 }).map(encodeURIComponent), fc.constant('..%2F..%2Fetc')),
  query: fc.oneof(
    fc.constant(''),
    fc.string({ maxLength: 60 }).map((s) => `?q=${encodeURIComponent(s)}&limit=${encodeURIComponent(s.slice(0, 4))}&cursor=${encodeURIComponent(s)}&token=${encodeURIComponent(s)}`),
    fc.string({ maxLength: 60 }).map((s) => `?state=${encodeURIComponent(s)}&code=${encodeURIComponent(s)}&redirect_to=${encodeURIComponent(s)}&type=${encodeURIComponent(s)}&userId=${encodeURIComponent(s)}`),
  ),
  body: fc.option(body, { nil: undefined }),
  contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''),
  auth: fc.constantFrom('none', 'valid', 'garbage', 'refresh-as-access', 'cookie-garbage'),
});

it('never answers 500 to 3,000 generated requests, and refused requests change nothing', async () => {
  const before = await server.runtime.database.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const [method, path] = r.route;
      const url = path.replace(':id', r.param) + r.query;
      const headers: Record<string, string> = {};
      if (r.contentType) headers['content-type'] = r.contentType;
      if (r.auth === 'valid') headers.authorization = `Bearer ${token}`;
      if (r.auth === 'garbage') headers.authorization = 'Bearer ' + 'x'.repeat(20);
      if (r.auth === 'refresh-as-access') headers.authorization = `Bearer ${refreshToken}`;
      if (r.auth === 'cookie-garbage') headers.cookie = 'gh_session=ghs_nope; gh_refresh=ghr_nope; gh_csrf=x';
      // Logout/password routes with the one valid token would end the session the run depends on.
      if (r.auth === 'valid' && ['/auth/logout', '/auth/logout-all', '/auth/password'].includes(path)) headers.authorization = 'Bearer x.y.z';
      const res = await server.app.inject({ method: method as 'GET', url, headers, payload: r.body });
      assert.ok(res.statusCode < 500, `${method} ${url} ${r.contentType} ${String(r.body).slice(0, 80)} → ${res.statusCode} ${res.body}`);
      if (res.statusCode >= 400 && (res.headers['content-type'] ?? '').toString().includes('json')) {
        const parsed = res.json();
        assert.equal(typeof parsed.error?.code, 'string', res.body);
        assert.equal(typeof parsed.error?.message, 'string', res.body);
        refused += 1;
      }
    }),
    { numRuns: 3000 },
  );
  assert.ok(refused > 1000, 'most generated requests are refused');
  const afterCount = await server.runtime.database.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  // Registrations with generated (invalid) input never create a user... unless one happened to be valid.
  assert.ok(Number(afterCount.n) - Number(before.n) <= 5);
  assert.equal((await call(server.app, 'GET', '/auth/me', { token })).statusCode, 200, 'the valid session survived');
});
