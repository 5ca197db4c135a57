// A full lifecycle's logs never contain a password, a token, a cookie or a CSRF token.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { call, csrf, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer({ env: { LOG_LEVEL: 'trace' } });
});
after(() => server.close());

it('redacts every secret from the JSON logs', async () => {
  const password = 'Unforgettable-Passphrase-7731';
  const email = uniqueEmail();
  const secrets: string[] = [password];
  const reg = await registerUser(server.app, { email, password });
  secrets.push(reg.body.accessToken, reg.body.refreshToken);
  await call(server.app, 'POST', '/auth/login', { body: { email, password: `${password}-wrong` } });
  const refreshed = (await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: reg.body.refreshToken } })).json();
  secrets.push(refreshed.accessToken, refreshed.refreshToken);
  await call(server.app, 'GET', '/auth/me', { token: refreshed.accessToken });
  await call(server.app, 'GET', `/auth/me?token=${refreshed.refreshToken}`, { token: refreshed.accessToken });
  await call(server.app, 'POST', '/auth/password', { token: refreshed.accessToken, body: { currentPassword: password, newPassword: `${password}-new` } });
  secrets.push(`${password}-new`);
  const session = await login(server.app, email, `${password}-new`, 'session');
  const { token, cookie } = await csrf(server.app);
  secrets.push(session.cookies.gh_session!.value, token, cookie);
  await call(server.app, 'POST', '/auth/logout', { cookies: { gh_session: session.cookies.gh_session!.value, gh_csrf: cookie }, headers: { 'x-csrf-token': token } });
  await call(server.app, 'POST', '/auth/login', { body: `{"email":"${email}","password":"${password}"` });

  const text = server.logs.join('');
  assert.ok(server.logs.filter((line) => line.includes('request completed')).length >= 8, 'every request was logged');
  for (const line of server.logs) JSON.parse(line);
  for (const secret of secrets) assert.ok(!text.includes(secret), `a secret reached the logs: ${secret.slice(0, 8)}…`);
  assert.ok(!text.includes('/auth/me?token='), 'query strings are dropped from logged URLs');
});

it('shows error codes but redacts a code a client sent (OAuth or one-time exchange code)', async () => {
  const { Writable } = await import('node:stream');
  const { pino } = await import('pino');
  const { loggerOptions } = await import('../../src/logger.ts');
  const lines: string[] = [];
  const log = pino(loggerOptions('info'), new Writable({ write: (chunk, _e, done) => (lines.push(chunk.toString()), done()) }));
  const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
  log.error({ err, res: { statusCode: 503 }, error: { code: 'service_unavailable' } }, 'request errored');
  log.info({ body: { code: 'one-time-code-SECRET-1' }, query: { code: 'oauth-code-SECRET-2' }, request: { body: { code: 'oauth-code-SECRET-3' } } }, 'exchange');
  log.info({ err: { code: 'EAUTH' }, password: 'pw-SECRET-4', refreshToken: 'ghr_SECRET-5', detail: { key: 'key-SECRET-6' } }, 'mixed');
  const [errored, exchange, mixed] = lines.map((l) => JSON.parse(l));
  assert.equal(errored.err.code, 'ECONNREFUSED');
  assert.equal(errored.error.code, 'service_unavailable');
  assert.equal(exchange.body.code, '[redacted]');
  assert.equal(exchange.query.code, '[redacted]');
  assert.equal(exchange.request.body.code, '[redacted]');
  assert.equal(mixed.err.code, 'EAUTH');
  assert.ok(!lines.join('').includes('SECRET'), lines.join(''));
});

it('request.log, made on first use, writes byte for byte what the pino child it stands for writes, and nothing below its level', async () => {
  const { Writable } = await import('node:stream');
  const { pino } = await import('pino');
  const { loggerOptions, lazyRequestLogger } = await import('../../src/logger.ts');
  const lines: string[] = [];
  const log = pino({ ...loggerOptions('info'), timestamp: false }, new Writable({ write: (chunk, _e, done) => (lines.push(chunk.toString()), done()) }));
  const err = Object.assign(new Error('boom'), { code: 'E1' });
  const write = (l: ReturnType<typeof lazyRequestLogger>) => {
    l.error({ err, password: 'pw-SECRET' }, 'request failed');
    l.warn({ err: 'down' }, 'not ready');
    l.info('plain %s', 'text');
    l.debug('below the level');
    l.child({ task: 't' }).info({ refreshToken: 'ghr_SECRET' }, 'from a grandchild');
  };
  write(log.child({ reqId: 'r-1' }, {}));
  const eager = lines.splice(0);
  const lazy = lazyRequestLogger(log, { reqId: 'r-1' }, {});
  write(lazy);
  assert.deepEqual(lines, eager);
  assert.equal(eager.length, 4, 'debug is below info');
  assert.ok(!eager.join('').includes('SECRET'));
  assert.equal(lazy.level, 'info');

  // A route-level level is the child's: debug is then written, as the pino child would.
  lines.length = 0;
  lazyRequestLogger(log, { reqId: 'r-2' }, { level: 'debug' }).debug('now written');
  assert.equal(JSON.parse(lines[0]!).msg, 'now written');
  assert.equal(JSON.parse(lines[0]!).reqId, 'r-2');
});
