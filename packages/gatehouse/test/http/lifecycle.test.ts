// The whole token lifecycle through the HTTP API, in-process on SQLite with in-memory state.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { PASSWORD, call, cookiesOf, csrf, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer({ env: { ROLES: 'manager,moderator' } });
});
after(() => server.close());

describe('register', () => {
  it('creates a user and returns tokens in token mode', async () => {
    const email = uniqueEmail();
    const { body } = await registerUser(server.app, { email: `  ${email.toUpperCase()} `, name: '  Ada  ' });
    assert.equal(body.user.email, email, 'email is trimmed and lower-cased');
    assert.equal(body.user.name, 'Ada');
    assert.equal(body.user.role, 'user');
    assert.equal(body.user.emailVerified, false);
    assert.equal(body.tokenType, 'Bearer');
    assert.equal(body.expiresIn, 900);
    assert.match(body.refreshToken, /^ghr_[A-Za-z0-9_-]{43,}$/);
    assert.deepEqual(Object.keys(body.user).sort(), ['createdAt', 'email', 'emailVerified', 'id', 'lastLoginAt', 'name', 'role']);
  });

  it('issues an access token with the contract claims and header', async () => {
    const { body } = await registerUser(server.app);
    const header = decodeProtectedHeader(body.accessToken);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'RS256');
    assert.ok(header.kid);
    const claims = decodeJwt(body.accessToken);
    assert.equal(claims.iss, 'http://127.0.0.1:3000');
    assert.equal(claims.aud, 'http://127.0.0.1:3000');
    assert.equal(claims.sub, body.user.id);
    assert.equal(claims.role, 'user');
    assert.ok(claims.sid && claims.jti);
    assert.equal((claims.exp as number) - (claims.iat as number), 900);
    assert.equal(claims.email, undefined, 'no personal data in the token');
  });

  it('refuses a taken email with 409 email_taken', async () => {
    const { email } = await registerUser(server.app);
    const res = await call(server.app, 'POST', '/auth/register', { body: { email: email.toUpperCase(), password: PASSWORD } });
    expectError(res, 409, 'email_taken');
  });

  it('applies the password policy and reports every field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ email: uniqueEmail(), password: 'short' }, 'password'],
      [{ email: uniqueEmail(), password: 'x'.repeat(129) }, 'password'],
      [{ email: uniqueEmail(), password: 'password123' }, 'password'],
      [{ email: 'not-an-email', password: PASSWORD }, 'email'],
      [{ email: uniqueEmail(), password: PASSWORD, name: '   ' }, 'name'],
      [{ email: uniqueEmail(), password: PASSWORD, name: 'n'.repeat(101) }, 'name'],
      [{ password: PASSWORD }, 'email'],
      [{ email: uniqueEmail(), password: 12345678 }, 'password'],
    ];
    for (const [body, field] of cases) {
      const res = await call(server.app, 'POST', '/auth/register', { body });
      expectError(res, 400, 'validation_failed');
      assert.ok(res.json().error.details.some((d: { field: string }) => d.field === field), `${JSON.stringify(body)} → ${res.body}`);
    }
    const sameAsEmail = 'someone.long@example.com';
    expectError(await call(server.app, 'POST', '/auth/register', { body: { email: sameAsEmail, password: sameAsEmail } }), 400, 'validation_failed');
    // 128 characters exactly is allowed, counted as characters, not bytes.
    await registerUser(server.app, { password: 'é'.repeat(128) });
  });

  it('writes nothing when the request is rejected', async () => {
    const email = uniqueEmail();
    expectError(await call(server.app, 'POST', '/auth/register', { body: { email, password: 'short' } }), 400, 'validation_failed');
    assert.equal(await server.runtime.ctx.users.findByEmail(email), null);
  });
});

describe('login', () => {
  it('answers an unknown email and a wrong password with the same 401 body', async () => {
    const { email } = await registerUser(server.app);
    const wrong = await call(server.app, 'POST', '/auth/login', { body: { email, password: 'wrong password here' } });
    const unknown = await call(server.app, 'POST', '/auth/login', { body: { email: uniqueEmail('nobody'), password: 'wrong password here' } });
    expectError(wrong, 401, 'invalid_credentials');
    expectError(unknown, 401, 'invalid_credentials');
    assert.equal(wrong.body, unknown.body);
  });

  it('logs in case-insensitively and records lastLoginAt', async () => {
    const { email } = await registerUser(server.app);
    const { body } = await login(server.app, email.toUpperCase());
    assert.equal(body.user.email, email);
    assert.ok(body.user.lastLoginAt);
  });

  it('refuses a disabled account with 403 account_disabled only after the right password', async () => {
    const { email, body } = await registerUser(server.app);
    await server.runtime.ctx.users.update(body.user.id, { disabledAt: Date.now() }, Date.now());
    expectError(await call(server.app, 'POST', '/auth/login', { body: { email, password: 'wrong password here' } }), 401, 'invalid_credentials');
    expectError(await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD } }), 403, 'account_disabled');
  });

  it('accepts an imported bcrypt hash and rehashes it to argon2id', async () => {
    const bcrypt = (await import('bcryptjs')).default;
    const { email, body } = await registerUser(server.app);
    await server.runtime.ctx.users.update(body.user.id, { passwordHash: await bcrypt.hash('imported password 1', 4) }, Date.now());
    await login(server.app, email, 'imported password 1');
    const stored = await server.runtime.ctx.users.findById(body.user.id);
    assert.match(stored!.passwordHash!, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await login(server.app, email, 'imported password 1');
  });
});

describe('me', () => {
  it('reads the user from the database and updates the name', async () => {
    const { body } = await registerUser(server.app);
    const me = await call(server.app, 'GET', '/auth/me', { token: body.accessToken });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().user.id, body.user.id);
    const patched = await call(server.app, 'PATCH', '/auth/me', { token: body.accessToken, body: { name: '  Grace ' } });
    assert.equal(patched.statusCode, 200);
    assert.equal(patched.json().user.name, 'Grace');
    expectError(await call(server.app, 'PATCH', '/auth/me', { token: body.accessToken, body: { name: '' } }), 400, 'validation_failed');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: body.accessToken })).json().user.name, 'Grace');
  });

  it('refuses missing, malformed, tampered and expired tokens', async () => {
    const { body } = await registerUser(server.app);
    expectError(await call(server.app, 'GET', '/auth/me'), 401, 'authentication_required');
    expectError(await call(server.app, 'GET', '/auth/me', { headers: { authorization: 'Basic abc' } }), 401, 'invalid_token');
    expectError(await call(server.app, 'GET', '/auth/me', { token: 'not.a.jwt' }), 401, 'invalid_token');
    const [h, p, s] = body.accessToken.split('.');
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(body.accessToken), role: 'admin' })).toString('base64url');
    expectError(await call(server.app, 'GET', '/auth/me', { token: `${h}.${forged}.${s}` }), 401, 'invalid_token');
    expectError(await call(server.app, 'GET', '/auth/me', { token: `${h}.${p}.` }), 401, 'invalid_token');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
    expectError(await call(server.app, 'GET', '/auth/me', { token: `${none}.${p}.` }), 401, 'invalid_token');
    expectError(await call(server.app, 'GET', '/auth/me', { token: 'x'.repeat(5000) }), 401, 'invalid_token');
    // A refresh token is not an access token.
    expectError(await call(server.app, 'GET', '/auth/me', { token: body.refreshToken }), 401, 'invalid_token');
  });
});

describe('refresh', () => {
  it('rotates: the new token works, the old one is then reuse', async () => {
    const { body } = await registerUser(server.app);
    const first = await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } });
    assert.equal(first.statusCode, 200, first.body);
    const next = first.json();
    assert.notEqual(next.refreshToken, body.refreshToken);
    assert.ok(next.accessToken);
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: next.accessToken })).statusCode, 200);
    const second = await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: next.refreshToken } });
    assert.equal(second.statusCode, 200);
  });

  it('refuses unknown and malformed refresh tokens', async () => {
    expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: 'ghr_nope' } }), 401, 'invalid_refresh_token');
    expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: '' } }), 401, 'invalid_refresh_token');
    expectError(await call(server.app, 'POST', '/auth/refresh', { body: {} }), 401, 'invalid_refresh_token');
    expectError(await call(server.app, 'POST', '/auth/refresh'), 401, 'invalid_refresh_token');
    expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: { $ne: null } } }), 400, 'validation_failed');
  });
});

describe('logout and revocation', () => {
  it('logout ends the session: its access and refresh tokens stop at once', async () => {
    const { body } = await registerUser(server.app);
    const res = await call(server.app, 'POST', '/auth/logout', { token: body.accessToken });
    assert.equal(res.statusCode, 204);
    expectError(await call(server.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'token_revoked');
    expectError(await call(server.app, 'GET', '/auth/sessions', { token: body.accessToken }), 401, 'token_revoked');
    expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: body.refreshToken } }), 401, 'invalid_refresh_token');
  });

  it('logout-all ends every session of the user, and only that user', async () => {
    const { email, body } = await registerUser(server.app);
    const other = await login(server.app, email);
    const stranger = await registerUser(server.app);
    assert.equal((await call(server.app, 'POST', '/auth/logout-all', { token: body.accessToken })).statusCode, 204);
    expectError(await call(server.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'token_revoked');
    expectError(await call(server.app, 'GET', '/auth/me', { token: other.body.accessToken }), 401, 'token_revoked');
    expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: other.body.refreshToken } }), 401, 'invalid_refresh_token');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: stranger.body.accessToken })).statusCode, 200);
  });

  it('password change keeps this session and ends the others', async () => {
    const { email, body } = await registerUser(server.app);
    const other = await login(server.app, email);
    const wrong = await call(server.app, 'POST', '/auth/password', { token: body.accessToken, body: { currentPassword: 'not my password', newPassword: 'a brand new passphrase' } });
    expectError(wrong, 400, 'validation_failed');
    const weak = await call(server.app, 'POST', '/auth/password', { token: body.accessToken, body: { currentPassword: PASSWORD, newPassword: 'short' } });
    expectError(weak, 400, 'validation_failed');
    const ok = await call(server.app, 'POST', '/auth/password', { token: body.accessToken, body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' } });
    assert.equal(ok.statusCode, 204, ok.body);
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: body.accessToken })).statusCode, 200);
    expectError(await call(server.app, 'GET', '/auth/me', { token: other.body.accessToken }), 401, 'token_revoked');
    expectError(await call(server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD } }), 401, 'invalid_credentials');
    await login(server.app, email, 'a brand new passphrase');
  });

  it('keeps revocations across a restart of the process', async () => {
    const { body } = await registerUser(server.app);
    await call(server.app, 'POST', '/auth/logout', { token: body.accessToken });
    // A second app on the same data dir starts with empty memory state and reloads revocations.
    const second = await startTestServer({ dataDir: server.config.dataDir });
    try {
      expectError(await call(second.app, 'GET', '/auth/me', { token: body.accessToken }), 401, 'token_revoked');
    } finally {
      await second.close();
    }
  });
});

describe('sessions', () => {
  it('lists live sessions with the current one marked, and deletes only own sessions', async () => {
    const { email, body } = await registerUser(server.app);
    const other = await login(server.app, email);
    const stranger = await registerUser(server.app);
    const list = await call(server.app, 'GET', '/auth/sessions', { token: body.accessToken, headers: { 'user-agent': 'test-agent' } });
    assert.equal(list.statusCode, 200);
    const sessions = list.json().sessions;
    assert.equal(sessions.length, 2);
    assert.equal(sessions.filter((s: { current: boolean }) => s.current).length, 1);
    assert.deepEqual(Object.keys(sessions[0]).sort(), ['createdAt', 'current', 'device', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent']);
    const otherSid = decodeJwt(other.body.accessToken).sid as string;
    const strangerSid = decodeJwt(stranger.body.accessToken).sid as string;

    expectError(await call(server.app, 'DELETE', `/auth/sessions/${strangerSid}`, { token: body.accessToken }), 404, 'not_found');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: stranger.body.accessToken })).statusCode, 200);
    expectError(await call(server.app, 'DELETE', '/auth/sessions/not-a-session', { token: body.accessToken }), 404, 'not_found');

    assert.equal((await call(server.app, 'DELETE', `/auth/sessions/${otherSid}`, { token: body.accessToken })).statusCode, 204);
    expectError(await call(server.app, 'GET', '/auth/me', { token: other.body.accessToken }), 401, 'token_revoked');
    assert.equal((await call(server.app, 'GET', '/auth/sessions', { token: body.accessToken })).json().sessions.length, 1);
  });
});

describe('cookie mode', () => {
  it('puts the refresh token in an HttpOnly SameSite=Strict cookie on /auth and refreshes with CSRF', async () => {
    const { body, cookies } = await registerUser(server.app, { mode: 'cookie' });
    assert.equal(body.refreshToken, undefined);
    assert.ok(body.accessToken);
    const refresh = cookies.gh_refresh!;
    assert.match(refresh.raw, /HttpOnly/);
    assert.match(refresh.raw, /SameSite=Strict/);
    assert.match(refresh.raw, /Path=\/auth/);
    assert.doesNotMatch(refresh.raw, /Secure/, 'http PUBLIC_URL: not Secure');

    expectError(await call(server.app, 'POST', '/auth/refresh', { cookies: { gh_refresh: refresh.value } }), 403, 'csrf_failed');
    const { token, cookie } = await csrf(server.app);
    expectError(
      await call(server.app, 'POST', '/auth/refresh', { cookies: { gh_refresh: refresh.value, gh_csrf: cookie }, headers: { 'x-csrf-token': 'forged' } }),
      403,
      'csrf_failed',
    );
    const res = await call(server.app, 'POST', '/auth/refresh', { cookies: { gh_refresh: refresh.value, gh_csrf: cookie }, headers: { 'x-csrf-token': token } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().refreshToken, undefined);
    const rotated = cookiesOf(res).gh_refresh!.value;
    assert.notEqual(rotated, refresh.value);
  });
});

describe('session mode', () => {
  it('sets an HttpOnly SameSite=Lax cookie, no JWT, and needs CSRF for writes', async () => {
    const { body, cookies } = await registerUser(server.app, { mode: 'session' });
    assert.deepEqual(Object.keys(body), ['user']);
    const session = cookies.gh_session!;
    assert.match(session.raw, /HttpOnly/);
    assert.match(session.raw, /SameSite=Lax/);
    const me = await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: session.value } });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().user.id, body.user.id);

    expectError(await call(server.app, 'PATCH', '/auth/me', { cookies: { gh_session: session.value }, body: { name: 'CSRF victim' } }), 403, 'csrf_failed');
    assert.equal((await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: session.value } })).json().user.name, 'Test User');
    const { token, cookie } = await csrf(server.app);
    const patched = await call(server.app, 'PATCH', '/auth/me', { cookies: { gh_session: session.value, gh_csrf: cookie }, headers: { 'x-csrf-token': token }, body: { name: 'Safe' } });
    assert.equal(patched.statusCode, 200);

    expectError(await call(server.app, 'POST', '/auth/logout', { cookies: { gh_session: session.value } }), 403, 'csrf_failed');
    const out = await call(server.app, 'POST', '/auth/logout', { cookies: { gh_session: session.value, gh_csrf: cookie }, headers: { 'x-csrf-token': token } });
    assert.equal(out.statusCode, 204);
    assert.match(cookiesOf(out).gh_session!.raw, /Expires=Thu, 01 Jan 1970/);
    expectError(await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: session.value } }), 401, 'token_revoked');
    expectError(await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: 'ghs_unknown' } }), 401, 'authentication_required');
  });

  it('a Bearer request needs no CSRF token', async () => {
    const { body } = await registerUser(server.app);
    assert.equal((await call(server.app, 'PATCH', '/auth/me', { token: body.accessToken, body: { name: 'No CSRF needed' } })).statusCode, 200);
  });
});

describe('errors', () => {
  it('answers malformed JSON, wrong content type, oversized bodies and unknown routes in the contract shape', async () => {
    expectError(await call(server.app, 'POST', '/auth/login', { body: '{"email":' }), 400, 'invalid_json');
    expectError(await call(server.app, 'POST', '/auth/login', { body: 'email=a', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
    expectError(await call(server.app, 'POST', '/auth/login', { body: 'email=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
    expectError(await call(server.app, 'POST', '/auth/login', { body: JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(70_000) }) }), 413, 'payload_too_large');
    expectError(await call(server.app, 'GET', '/nope'), 404, 'not_found');
    expectError(await call(server.app, 'POST', '/auth/login', { body: '[]' }), 400, 'validation_failed');
    expectError(await call(server.app, 'POST', '/auth/login', { body: '{"__proto__":{"admin":true},"email":"a@b.co","password":"xxxxxxxxxx"}' }), 400, 'invalid_json');
    expectError(await call(server.app, 'GET', '/admin/users/%E0%A4%A'), 400, 'validation_failed');
  });

  it('sends security headers on every response', async () => {
    for (const res of [await call(server.app, 'GET', '/health'), await call(server.app, 'GET', '/nope')]) {
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.ok(res.headers['content-security-policy']);
      assert.equal(res.headers['strict-transport-security'], undefined, 'no HSTS over plain http');
      assert.equal(res.headers['x-powered-by'], undefined);
    }
  });
});

describe('the root address', () => {
  it('sends a browser to /login when signed out and to /account when signed in', async () => {
    const out = await call(server.app, 'GET', '/');
    assert.equal(out.statusCode, 303);
    assert.equal(out.headers.location, '/login');
    const { cookies } = await registerUser(server.app, { mode: 'session' });
    const signedIn = await call(server.app, 'GET', '/', { cookies: { gh_session: cookies.gh_session!.value } });
    assert.equal(signedIn.statusCode, 303);
    assert.equal(signedIn.headers.location, '/account');
  });
});

describe('well-known and health', () => {
  it('publishes JWKS, discovery, health and readiness', async () => {
    const jwks = (await call(server.app, 'GET', '/.well-known/jwks.json')).json();
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].d, undefined, 'no private part');
    assert.equal(jwks.keys[0].alg, 'RS256');
    const discovery = (await call(server.app, 'GET', '/.well-known/openid-configuration')).json();
    assert.equal(discovery.issuer, 'http://127.0.0.1:3000');
    assert.equal(discovery.jwks_uri, 'http://127.0.0.1:3000/.well-known/jwks.json');
    // With the OpenID provider on (the default), discovery is the provider's metadata: its endpoints, under /oauth2/.
    assert.equal(discovery.authorization_endpoint, 'http://127.0.0.1:3000/oauth2/authorize');
    assert.equal(discovery.token_endpoint, 'http://127.0.0.1:3000/oauth2/token');
    assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
    assert.deepEqual((await call(server.app, 'GET', '/health')).json(), { status: 'ok' });
    assert.equal((await call(server.app, 'GET', '/ready')).statusCode, 200);
  });
});
