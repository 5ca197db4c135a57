// Attack catalogue: input a database cannot hold. PostgreSQL refuses U+0000 in text where SQLite stores it;
// before this suite, a NUL in a login e-mail, an API key name or a session id answered 500 on PostgreSQL.
// Every string a route takes (body fields from its schema, path parameters, query parameters) is sent with a
// NUL in it, as an admin with every credential a route might want; each answer is below 500 and a refusal
// writes nothing. Runs on SQLite always, and on PostgreSQL + Redis when they are there (required in CI).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registeredRoutes } from '../../src/http/plugins/openapi.ts';
import { createUser } from '../../src/users/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { skipUnlessPostgres, skipUnlessRedis } from '../helpers/backends.ts';
import { PASSWORD, csrf, login, uniqueEmail } from '../helpers/http.ts';
import { changedDatabaseTables, snapshot } from './snapshot.ts';

const NUL = '\u0000';
// Routes that would end the admin's own sessions if they succeeded (a NUL in a new password is a valid password).
const SKIP = new Set(['POST /auth/logout', 'POST /auth/logout-all', 'POST /logout', 'POST /account/sessions/revoke-all', 'POST /auth/password', 'POST /account/password']);

/** A value that passes the schema, so that the poisoned field is what reaches the rules and the store. */
function example(schema: any, field: string, email: string): unknown {
  if (!schema || typeof schema !== 'object') return 'x';
  if (schema.anyOf ?? schema.oneOf) return example((schema.anyOf ?? schema.oneOf)[0], field, email);
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([name, property]) => [name, example(property, name, email)]));
    case 'array':
      return [example(schema.items, field, email)];
    case 'boolean':
      return false;
    case 'integer':
    case 'number':
      return 1;
    default:
      if (/email/i.test(field)) return email;
      if (/password/i.test(field)) return PASSWORD;
      if (/expires/i.test(field)) return new Date(Date.now() + 86_400_000).toISOString();
      if (/scopes?/i.test(field)) return 'introspect';
      if (/role/i.test(field)) return 'user';
      return 'valid-looking-value';
  }
}

/** The same value with a NUL put into each string in turn. */
function poisoned(value: Record<string, unknown>): Array<[string, Record<string, unknown>]> {
  const out: Array<[string, Record<string, unknown>]> = [];
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string') out.push([key, { ...value, [key]: /@/.test(v) ? v.replace('@', `${NUL}@`) : `${v}${NUL}x` }]);
    if (Array.isArray(v) && typeof v[0] === 'string') out.push([`${key}[0]`, { ...value, [key]: [`${v[0]}${NUL}`] }]);
  }
  return out;
}

function suite(name: string, skip: false | string, options: { postgres?: boolean; redis?: boolean }) {
  describe(name, { skip }, () => {
    let server: TestServer;
    let bearer: string;
    let cookie: string;
    let token: { token: string; cookie: string };
    let email: string;
    before(async () => {
      // A frozen clock: the run takes a minute on a loaded machine, and a session used after TOUCH_INTERVAL
      // slides its expiry (a write that belongs to the signed-in request, not to the refused input).
      server = await startTestServer({ ...options, fakeClock: Date.now(), env: { LOG_LEVEL: 'warn', OAUTH_REDIRECT_ALLOWLIST: 'http://app.test/signed-in' } });
      email = uniqueEmail('nul-admin');
      await createUser(server.runtime.ctx, { email, password: PASSWORD, role: 'admin', emailVerified: true } as never);
      bearer = (await login(server.app, email)).body.accessToken;
      cookie = (await login(server.app, email, PASSWORD, 'session')).cookies.gh_session!.value;
      token = await csrf(server.app);
    });
    after(() => server?.close());

    it('a NUL in any string a route takes is refused below 500 and writes nothing', async () => {
      const doc = server.app.swagger() as { paths: Record<string, Record<string, any>> };
      const seen: string[] = [];
      let sent = 0;
      for (const { method, url } of registeredRoutes(server.app)) {
        const key = `${method} ${url}`;
        if (SKIP.has(key) || url.startsWith('/docs')) continue;
        const operation = doc.paths[url.replace(/:([A-Za-z]+)/g, '{$1}')]?.[method.toLowerCase()] ?? {};
        const content = operation.requestBody?.content as Record<string, { schema: unknown }> | undefined;
        const json = content?.['application/json'];
        const body = (json ? example(json.schema, '', email) : {}) as Record<string, unknown>;
        const isForm = !json && method === 'POST';
        const formBase = { _csrf: token.token, email, password: PASSWORD, name: 'x', token: 'x', id: 'x', provider: 'x', q: 'x', redirect_to: '/account' };
        const queryNames = ((operation.parameters ?? []) as Array<{ in: string; name: string }>).filter((p) => p.in === 'query').map((p) => p.name);

        const variants: Array<[string, string, string | undefined]> = [];
        const path = url.replace(/:[A-Za-z]+/g, 'x');
        if (url.includes(':')) variants.push(['path parameter', url.replace(/:[A-Za-z]+/g, `x%00y`), json ? JSON.stringify(body) : undefined]);
        for (const q of [...queryNames, 'redirect_to', 'token', 'state', 'code']) variants.push([`query ${q}`, `${path}?${q}=x%00y`, json ? JSON.stringify(body) : undefined]);
        if (json) for (const [field, value] of poisoned(body)) variants.push([`body ${field}`, path, JSON.stringify(value)]);
        if (isForm) for (const [field, value] of poisoned(formBase)) if (field !== '_csrf') variants.push([`form ${field}`, path, new URLSearchParams(value as Record<string, string>).toString()]);

        for (const [where, target, payload] of variants) {
          const headers: Record<string, string> = { cookie: `gh_session=${cookie}; gh_csrf=${token.cookie}`, 'x-csrf-token': token.token };
          if (!isForm) headers.authorization = `Bearer ${bearer}`;
          if (payload !== undefined) headers['content-type'] = isForm ? 'application/x-www-form-urlencoded' : 'application/json';
          const before = await snapshot(server);
          const res = await server.app.inject({ method: method as 'GET', url: target, headers, payload });
          sent += 1;
          const what = `${key}, NUL in ${where}: ${res.statusCode} ${res.body.slice(0, 200)}`;
          assert.ok(res.statusCode < 500, what);
          if (res.statusCode >= 400) {
            if (String(res.headers['content-type']).includes('json')) assert.equal(typeof res.json().error?.code, 'string', what);
            assert.deepEqual(changedDatabaseTables(before, await snapshot(server)), [], `a refusal wrote: ${what}`);
          }
          if (res.statusCode === 400) seen.push(key);
        }
      }
      assert.ok(sent > 100, `only ${sent} requests`);
      // The admin is still signed in both ways.
      assert.equal((await server.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${bearer}` } })).statusCode, 200);
      assert.equal((await server.app.inject({ method: 'GET', url: '/auth/me', headers: { cookie: `gh_session=${cookie}` } })).statusCode, 200);
    });
  });
}

suite('on SQLite', false, {});
const postgresSkip = (await skipUnlessPostgres()) || (await skipUnlessRedis());
suite('on PostgreSQL and Redis', postgresSkip, { postgres: true, redis: true });
