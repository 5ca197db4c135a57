// Attack catalogue: one factor where two are required (Zitadel CVE-2025-64103, Kratos's highest_available).
// Every route that can sign someone in is found at run time from the OpenAPI document (a POST whose answer
// can carry an access token or the MFA challenge) plus the sign-in pages, and driven with a valid first
// factor for an account that has a second: none may yield a token, a session cookie or a session row. A new
// sign-in route that is not driven here makes this file fail.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { randomToken, sha256 } from '../../src/crypto/random.ts';
import { codeAt } from '../../src/methods/totp/totp.ts';
import { registeredRoutes } from '../../src/http/plugins/openapi.ts';
import { outboxDir } from '../../src/mail/transport.ts';
import { readOutbox } from '../helpers/mail.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, cookiesOf, registerUser } from '../helpers/http.ts';
import { SoftAuthenticator } from '../helpers/webauthn.ts';

const T0 = Date.UTC(2026, 10, 30, 10, 0, 0);
let server: TestServer;
let victim: { id: string; email: string; secret: string };
/** The victim's passkey without user verification. */
const securityKey = new SoftAuthenticator({ uv: false });

/** Routes whose answer can sign in, but which a first factor alone cannot reach, and why. */
const NOT_A_FIRST_FACTOR: Record<string, string> = {
  'POST /auth/register': 'makes a new account, which has no second factor yet',
  'POST /auth/refresh': 'continues a session that already passed the second step',
  'POST /auth/mfa/verify': 'is the second step itself (a wrong code is tried below)',
  'POST /login/mfa': "is the pages' second step itself",
};
/** HTML routes that sign in: their answers are pages, so the document cannot say it. */
const SIGN_IN_PAGES = ['POST /login', 'POST /login/oauth', 'POST /login/mfa', 'POST /magic-link', 'POST /login/magic-link/code'];

/** A valid first factor for the victim through each sign-in route. */
const FIRST_FACTOR: Record<string, () => Promise<LightMyRequestResponse>> = {
  'POST /auth/login': () => call(server.app, 'POST', '/auth/login', { body: { email: victim.email, password: PASSWORD } }),
  'POST /auth/oauth/exchange': async () => call(server.app, 'POST', '/auth/oauth/exchange', { body: { code: await socialCode() } }),
  'POST /login': () => pagePost('/login', { email: victim.email, password: PASSWORD }),
  'POST /login/oauth': async () => pagePost('/login/oauth', { code: await socialCode() }),
  // A passkey without user verification (a plain security key) is one factor: possession.
  'POST /auth/passkeys/login': async () => {
    const options = (await call(server.app, 'POST', '/auth/passkeys/login/options', { body: { email: victim.email } })).json();
    return call(server.app, 'POST', '/auth/passkeys/login', { body: { response: securityKey.get(options) } });
  },
  'POST /auth/magic-link/verify': async () => call(server.app, 'POST', '/auth/magic-link/verify', { body: { token: await magicLink() } }),
  'POST /magic-link': async () => pagePost('/magic-link', { token: await magicLink() }),
  'POST /login/magic-link/code': async () => pagePost('/login/magic-link/code', { email: victim.email, code: await magicCode() }),
};

/** What a sent magic link leaves in the shared state (the mail round trip is tested in test/http/magic-link.test.ts). */
async function magicLink(): Promise<string> {
  const token = randomToken('ghl_');
  await server.runtime.ctx.state.put(`magic:link:${sha256(token)}`, JSON.stringify({ email: victim.email, redirectTo: null }), 60_000);
  return token;
}

/** A real code for the victim, through the API, read from the outbox. */
async function magicCode(): Promise<string> {
  await call(server.app, 'POST', '/auth/magic-link', { body: { email: victim.email } });
  await server.runtime.ctx.background.drain();
  const mails = (await readOutbox(outboxDir(server.config))).filter((m) => m.to === victim.email && m.subject.startsWith('Sign in'));
  return /code[^0-9]*(\d{6})/.exec(mails[mails.length - 1]!.text)![1]!;
}

/** The one-time code a finished social sign-in leaves (the provider round trip is tested in test/http/oauth.test.ts). */
async function socialCode(): Promise<string> {
  const code = randomToken('gho_');
  await server.runtime.ctx.state.put(`oauth:code:${sha256(code)}`, JSON.stringify({ userId: victim.id, provider: 'acme' }), 60_000);
  return code;
}

async function pagePost(path: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
  const page = await server.app.inject({ method: 'GET', url: '/login' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const cookies = cookiesOf(page);
  return server.app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: Object.entries(cookies).map(([k, v]) => `${k}=${v.value}`).join('; ') },
    payload: new URLSearchParams({ ...fields, _csrf: csrf }).toString(),
  });
}

function signInRoutes(): string[] {
  const doc = server.app.swagger() as { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> };
  const found = new Set<string>(SIGN_IN_PAGES);
  for (const [path, operations] of Object.entries(doc.paths)) {
    const post = operations.post;
    if (!post) continue;
    const answers = JSON.stringify(Object.entries(post.responses ?? {}).filter(([status]) => status.startsWith('2')));
    if (answers.includes('"accessToken"') || answers.includes('"mfaRequired"')) found.add(`POST ${path.replace(/\{(\w+)\}/g, ':$1')}`);
  }
  return [...found].sort();
}

async function sessionRows(): Promise<number> {
  return (await server.runtime.database.db.selectFrom('sessions').select('id').where('user_id', '=', victim.id).execute()).length;
}

before(async () => {
  server = await startTestServer({ fakeClock: T0 });
  const { email, body } = await registerUser(server.app);
  const started = (await call(server.app, 'POST', '/auth/mfa/totp', { token: body.accessToken, body: {} })).json();
  assert.equal((await call(server.app, 'POST', `/auth/mfa/totp/${started.id}/confirm`, { token: body.accessToken, body: { code: codeAt(started.secret, T0) } })).statusCode, 200);
  const passkeyOptions = (await call(server.app, 'POST', '/auth/passkeys/register/options', { token: body.accessToken })).json();
  assert.equal((await call(server.app, 'POST', '/auth/passkeys/register', { token: body.accessToken, body: { response: securityKey.create(passkeyOptions) } })).statusCode, 201);
  await call(server.app, 'POST', '/auth/logout', { token: body.accessToken });
  victim = { id: body.user.id, email, secret: started.secret };
});
after(() => server.close());

describe('a first factor alone never signs in an account with a second factor', () => {
  it('finds every sign-in route at run time, and each is driven here or listed with a reason', () => {
    const all = registeredRoutes(server.app).map((r) => `${r.method} ${r.url}`);
    for (const route of [...Object.keys(NOT_A_FIRST_FACTOR), ...Object.keys(FIRST_FACTOR)]) assert.ok(all.includes(route), `${route} is listed but not registered`);
    const found = signInRoutes();
    for (const route of ['POST /auth/login', 'POST /auth/oauth/exchange', 'POST /auth/mfa/verify', 'POST /auth/register']) assert.ok(found.includes(route), `${route} was not found as a sign-in route`);
    for (const route of found) assert.ok(route in FIRST_FACTOR || route in NOT_A_FIRST_FACTOR, `${route} can sign in but is not driven by this suite`);
  });

  it('every sign-in route answers with no token, no session cookie and no session', async () => {
    const findings: string[] = [];
    const live = await sessionRows();
    for (const route of Object.keys(FIRST_FACTOR)) {
      const res = await FIRST_FACTOR[route]!();
      if (res.statusCode >= 500) findings.push(`${route}: ${res.statusCode}`);
      const cookies = cookiesOf(res);
      for (const name of ['gh_session', 'gh_refresh']) if (cookies[name]?.value) findings.push(`${route}: set ${name}`);
      if (/"accessToken"|"refreshToken"/.test(res.body)) findings.push(`${route}: a token in the body`);
      if ((await sessionRows()) !== live) findings.push(`${route}: started a session`);
    }
    assert.deepEqual(findings, []);
  });

  it('the second step with a wrong code, a recovery-code-shaped guess or no proof starts nothing either', async () => {
    const live = await sessionRows();
    const ticket = (await FIRST_FACTOR['POST /auth/login']!()).json().mfaTicket;
    for (const body of [{ code: '000000' }, { recoveryCode: 'aaaaa-aaaaa' }, {}, { code: codeAt(victim.secret, T0) }]) {
      const res = await call(server.app, 'POST', '/auth/mfa/verify', { body: { mfaTicket: ticket, ...body } });
      assert.ok(res.statusCode === 400 || res.statusCode === 401, `${JSON.stringify(body)}: ${res.statusCode}`);
      assert.equal(cookiesOf(res).gh_session, undefined);
    }
    assert.equal(await sessionRows(), live);
  });
});
