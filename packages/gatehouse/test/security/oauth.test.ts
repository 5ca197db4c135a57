// Attack catalogue: social sign-in. Real OpenID providers on loopback (test/helpers/oidc-provider.ts): an
// honest one (alpha) and a second issuer (beta) for mix-up. Each attack is refused with the contract's
// error, never a 500, and makes no account, no identity and no one-time code. test/http/oauth.test.ts covers
// the flow; this file is the list of attacks, including the ones that file does not try.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { sha256 } from '../../src/crypto/random.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { call, cookiesOf, expectError, registerUser, uniqueEmail } from '../helpers/http.ts';
import { followToCallback, startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts';
import { changedTables, snapshot, type Snapshot } from './snapshot.ts';

const PUBLIC_URL = 'http://127.0.0.1:3000';
const APP = 'http://app.test/signed-in';
const CLIENT_ID = 'gatehouse-security';
const CLIENT_SECRET = `oidc-secret-${randomBytes(12).toString('hex')}`;
const callbackOf = (name: string) => `${PUBLIC_URL}/auth/oauth/${name}/callback`;

let alpha: TestOidcProvider;
let beta: TestOidcProvider;
let server: TestServer;

before(async () => {
  alpha = await startOidcProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: ['acme'].map(callbackOf) });
  beta = await startOidcProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: ['beta', 'acme'].map(callbackOf) });
  server = await startTestServer({
    fakeClock: Date.now(),
    env: {
      PUBLIC_URL,
      LOG_LEVEL: 'warn',
      OAUTH_REDIRECT_ALLOWLIST: `${APP}, ${PUBLIC_URL}/`,
      OAUTH_ACME_ISSUER: alpha.issuer,
      OAUTH_ACME_CLIENT_ID: CLIENT_ID,
      OAUTH_ACME_CLIENT_SECRET: CLIENT_SECRET,
      OAUTH_BETA_ISSUER: beta.issuer,
      OAUTH_BETA_CLIENT_ID: CLIENT_ID,
      OAUTH_BETA_CLIENT_SECRET: CLIENT_SECRET,
    },
  });
});
after(async () => {
  await server?.close();
  await alpha?.close();
  await beta?.close();
});

let accounts = 0;
function account(provider: TestOidcProvider): string {
  accounts += 1;
  const id = `sec-${accounts}-${randomBytes(3).toString('hex')}`;
  provider.setAccount(id, { email: uniqueEmail('oauth-sec'), email_verified: true, name: 'Victim' });
  return id;
}

interface Started {
  url: URL;
  state: string;
  binding: string;
}

/** A browser starts a sign-in: Gatehouse redirects it to the provider and sets the binding cookie. */
async function begin(provider: string, binding?: string): Promise<Started> {
  const res = await call(server.app, 'GET', `/auth/oauth/${provider}?redirect_to=${encodeURIComponent(APP)}`, binding ? { cookies: { gh_oauth: binding } } : {});
  assert.equal(res.statusCode, 302, res.body);
  const url = new URL(res.headers.location as string);
  return { url, state: url.searchParams.get('state')!, binding: cookiesOf(res).gh_oauth!.value };
}

/** The user signs in at the provider, which sends the browser back with a code. */
function consent(url: URL, login: string): Promise<URL> {
  return followToCallback(url, { stopAt: PUBLIC_URL, login });
}

function land(callback: URL, binding?: string): Promise<LightMyRequestResponse> {
  return call(server.app, 'GET', `${callback.pathname}${callback.search}`, binding ? { cookies: { gh_oauth: binding } } : {});
}

function codeOf(res: LightMyRequestResponse): string {
  assert.equal(res.statusCode, 302, res.body);
  const url = new URL(res.headers.location as string);
  assert.equal(url.searchParams.get('error'), null, url.href);
  return url.searchParams.get('code')!;
}

function exchange(code: string): Promise<LightMyRequestResponse> {
  return call(server.app, 'POST', '/auth/oauth/exchange', { body: { code } });
}

async function pending(state: string): Promise<Record<string, unknown>> {
  return JSON.parse((await server.runtime.ctx.state.get(`oauth:state:${sha256(state)}`))!);
}

async function rewritePending(state: string, change: (p: Record<string, unknown>) => void): Promise<void> {
  const p = await pending(state);
  change(p);
  await server.runtime.ctx.state.put(`oauth:state:${sha256(state)}`, JSON.stringify(p), 60_000);
}

/** Runs an attack and checks it wrote nothing: no user, no identity, no session, no one-time code. */
async function unchanged(attack: () => Promise<void>): Promise<void> {
  const before: Snapshot = await snapshot(server);
  await attack();
  const after = await snapshot(server);
  // Spent states leave the shared state; that is the refusal working, not a write.
  assert.deepEqual(changedTables(before, after).filter((t) => t !== '(shared state)'), [], 'the attack wrote to the database');
  assert.ok(after.counts['(shared state)']! <= before.counts['(shared state)']!, 'the attack left a code or state behind');
}

describe('state (RFC 6749 §10.12, RFC 9700 §4.7)', () => {
  it('missing, wrong, truncated, padded or another provider\'s state is refused and spends nothing', async () => {
    const login = account(alpha);
    const started = await begin('acme');
    const back = await consent(started.url, login);
    await unchanged(async () => {
      for (const state of [null, '', 'x', `${started.state}x`, started.state.slice(0, -1), started.state.toUpperCase(), ` ${started.state}`, 'A'.repeat(43)]) {
        const bad = new URL(back);
        if (state === null) bad.searchParams.delete('state');
        else bad.searchParams.set('state', state);
        const res = await land(bad, started.binding);
        assert.equal(res.statusCode, 400, `state ${JSON.stringify(state)}: ${res.body}`);
        assert.match(res.json().error.code, /^(invalid_or_expired_token|validation_failed)$/);
      }
      // acme's state at beta's callback: a state belongs to one provider.
      const atBeta = new URL(back);
      atBeta.pathname = '/auth/oauth/beta/callback';
      expectError(await land(atBeta, started.binding), 400, 'invalid_or_expired_token');
    });
    // The state was taken by the cross-provider attempt and is now spent: the honest callback is refused too.
    expectError(await land(back, started.binding), 400, 'invalid_or_expired_token');
  });

  it('a replayed callback is refused, after success and after a failure alike', async () => {
    const login = account(alpha);
    const ok = await begin('acme');
    const back = await consent(ok.url, login);
    codeOf(await land(back, ok.binding));
    await unchanged(async () => {
      for (let i = 0; i < 3; i++) expectError(await land(back, ok.binding), 400, 'invalid_or_expired_token');
    });
    // A callback refused for a missing binding spends the state: replaying it with the right cookie fails too.
    const second = await begin('acme');
    const back2 = await consent(second.url, login);
    expectError(await land(back2), 400, 'invalid_or_expired_token');
    await unchanged(async () => expectError(await land(back2, second.binding), 400, 'invalid_or_expired_token'));
  });

  it('from another browser: no binding cookie, another browser\'s binding, or a forged one', async () => {
    const login = account(alpha);
    for (const binding of [undefined, (await begin('acme')).binding, 'A'.repeat(43), '']) {
      const started = await begin('acme');
      const back = await consent(started.url, login);
      await unchanged(async () => expectError(await land(back, binding), 400, 'invalid_or_expired_token'));
    }
  });

  it('ten concurrent callbacks with one state: exactly one goes through', async () => {
    const started = await begin('acme');
    const back = await consent(started.url, account(alpha));
    const results = await Promise.all(Array.from({ length: 10 }, () => land(back, started.binding)));
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [302, ...Array(9).fill(400)]);
  });
});

describe('PKCE (RFC 7636, RFC 9700 §4.5)', () => {
  it('always S256, never plain, and a fresh challenge each time', async () => {
    const challenges = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const { url } = await begin('acme');
      assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
      challenges.add(url.searchParams.get('code_challenge')!);
    }
    assert.equal(challenges.size, 5);
  });

  it('a wrong verifier, another sign-in\'s verifier, or none is refused (oauth_failed)', async () => {
    const other = await begin('acme');
    const othersVerifier = (await pending(other.state)).verifier as string;
    for (const verifier of ['Z'.repeat(43), othersVerifier, '', 'short']) {
      const started = await begin('acme');
      await rewritePending(started.state, (p) => (p.verifier = verifier));
      const back = await consent(started.url, account(alpha));
      await unchanged(async () => expectError(await land(back, started.binding), 400, 'oauth_failed'));
    }
  });

  it("code injection: the attacker's own provider code, put into the victim's sign-in, fails PKCE", async () => {
    // The attacker signs in at alpha with his own account and stops before the callback.
    const attacker = await begin('acme');
    const attackersCallback = await consent(attacker.url, account(alpha));
    // The victim's browser starts a sign-in; the attacker somehow has the victim's state and makes the
    // victim's browser land with the attacker's code. The code was bound to the attacker's challenge.
    const victim = await begin('acme');
    const injected = new URL(attackersCallback);
    injected.searchParams.set('state', victim.state);
    await unchanged(async () => expectError(await land(injected, victim.binding), 400, 'oauth_failed'));
  });
});

describe('nonce (OpenID Connect Core §3.1.2.1)', () => {
  it('an id_token whose nonce is not the one this sign-in sent is refused', async () => {
    const other = await begin('acme');
    const othersNonce = (await pending(other.state)).nonce as string;
    for (const nonce of ['a-nonce-this-sign-in-never-sent', othersNonce]) {
      const started = await begin('acme');
      await rewritePending(started.state, (p) => (p.nonce = nonce));
      const back = await consent(started.url, account(alpha));
      await unchanged(async () => expectError(await land(back, started.binding), 400, 'oauth_failed'));
    }
  });
});

describe("the provider's authorization code", () => {
  it('works once: replayed under a fresh state and binding it is refused', async () => {
    const login = account(alpha);
    const first = await begin('acme');
    const back = await consent(first.url, login);
    codeOf(await land(back, first.binding));
    const fresh = await begin('acme');
    const replay = new URL(back);
    replay.searchParams.set('state', fresh.state);
    await unchanged(async () => expectError(await land(replay, fresh.binding), 400, 'oauth_failed'));
  });

  it('a made-up code, an empty code or a missing code is refused', async () => {
    for (const code of ['made-up', '', null]) {
      const started = await begin('acme');
      const back = await consent(started.url, account(alpha));
      if (code === null) back.searchParams.delete('code');
      else back.searchParams.set('code', code);
      await unchanged(async () => {
        const res = await land(back, started.binding);
        assert.equal(res.statusCode, 400, res.body);
        assert.match(res.json().error.code, /^(oauth_failed|validation_failed)$/);
      });
    }
  });
});

describe('mix-up (RFC 9207, RFC 9700 §4.4)', () => {
  it("beta's answer at acme's callback is refused, with beta's iss, with acme's iss forged in, or with none", async () => {
    for (const iss of ['beta', 'forged-acme', 'none'] as const) {
      const started = await begin('acme');
      // The victim is sent to beta (the attacker's provider) with acme's request.
      const atBeta = new URL(`${started.url.pathname}${started.url.search}`, beta.issuer);
      const back = await consent(atBeta, account(beta));
      assert.equal(back.searchParams.get('iss'), beta.issuer);
      if (iss === 'forged-acme') back.searchParams.set('iss', alpha.issuer);
      if (iss === 'none') back.searchParams.delete('iss');
      await unchanged(async () => expectError(await land(back, started.binding), 400, 'oauth_failed'));
    }
  });

  it("acme's honest answer with another issuer's iss parameter is refused", async () => {
    const started = await begin('acme');
    const back = await consent(started.url, account(alpha));
    back.searchParams.set('iss', beta.issuer);
    await unchanged(async () => expectError(await land(back, started.binding), 400, 'oauth_failed'));
  });

  it("a sign-in started at beta cannot finish at acme's callback", async () => {
    const started = await begin('beta');
    const back = await consent(started.url, account(beta));
    const elsewhere = new URL(back);
    elsewhere.pathname = '/auth/oauth/acme/callback';
    await unchanged(async () => expectError(await land(elsewhere, started.binding), 400, 'invalid_or_expired_token'));
  });
});

describe('the one-time exchange code', () => {
  it('works once; replays, concurrent replays and made-up codes are refused', async () => {
    const started = await begin('acme');
    const code = codeOf(await land(await consent(started.url, account(alpha)), started.binding));
    const results = await Promise.all(Array.from({ length: 5 }, () => exchange(code)));
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 400, 400, 400, 400]);
    await unchanged(async () => {
      expectError(await exchange(code), 400, 'invalid_or_expired_token');
      for (const fake of [`gho_${'A'.repeat(43)}`, code.slice(0, -1), `${code}A`, code.toUpperCase(), 'gho_', sha256(code)]) {
        expectError(await exchange(fake), 400, 'invalid_or_expired_token');
      }
    });
  });

  it('is useless after 60 seconds', async () => {
    const started = await begin('acme');
    const code = codeOf(await land(await consent(started.url, account(alpha)), started.binding));
    server.clock!.advance(61_000);
    await unchanged(async () => expectError(await exchange(code), 400, 'invalid_or_expired_token'));
  });
});

describe('open redirect', () => {
  const NEAR_MISSES = [
    'https://evil.test/',
    `${APP}/`,
    `${APP}/..`,
    `${APP}/../../evil`,
    `${APP}?next=https://evil.test`,
    `${APP}#@evil.test`,
    `${APP}%2F..%2Fevil`,
    `${APP}%00`,
    `${APP}\u0000`,
    `${APP}\r\nLocation: https://evil.test`,
    `${APP} `,
    ` ${APP}`,
    `${APP}\t`,
    'HTTP://APP.TEST/signed-in',
    'http://APP.test/signed-in',
    'http://app.test/SIGNED-IN',
    'https://app.test/signed-in',
    'http://app.test:80/signed-in',
    'http://app.test:8080/signed-in',
    'http://app.test./signed-in',
    'http://app.test.evil.test/signed-in',
    'http://evil.test/app.test/signed-in',
    'http://app.test@evil.test/signed-in',
    'http://evil.test@app.test/signed-in',
    'http://app.test\\@evil.test/signed-in',
    'http://app.test\\.evil.test/signed-in',
    'http://аpp.test/signed-in', // Cyrillic а
    'http://xn--pp-8cd.test/signed-in',
    'http:/app.test/signed-in',
    'http:app.test/signed-in',
    '//app.test/signed-in',
    '//evil.test',
    '/\\evil.test',
    '\\\\evil.test',
    '/signed-in',
    `${PUBLIC_URL}//evil.test`,
    `${PUBLIC_URL}/\\evil.test`,
    `${PUBLIC_URL}@evil.test/`,
    PUBLIC_URL,
    'javascript:alert(1)//http://app.test/signed-in',
    'data:text/html,<script>alert(1)</script>',
    encodeURIComponent(APP),
    '',
  ];

  it(`refuses ${NEAR_MISSES.length} near-misses of the allow-list with 400, before any redirect`, async () => {
    await unchanged(async () => {
      for (const bad of NEAR_MISSES) {
        const res = await call(server.app, 'GET', `/auth/oauth/acme?redirect_to=${encodeURIComponent(bad)}`);
        try {
          expectError(res, 400, 'validation_failed');
        } catch (err) {
          throw new Error(`redirect_to ${JSON.stringify(bad)}: ${(err as Error).message}`);
        }
        assert.equal(res.headers.location, undefined);
        assert.equal(res.headers['set-cookie'], undefined, 'no binding cookie for a refused start');
      }
    });
  });

  it('the sign-in page sends a signed-in browser only to its own pages or the allow-list, whatever redirect_to says', async () => {
    const { cookies } = await registerUser(server.app, { mode: 'session' });
    for (const bad of NEAR_MISSES) {
      const res = await call(server.app, 'GET', `/login?redirect_to=${encodeURIComponent(bad)}`, { cookies: { gh_session: cookies.gh_session!.value } });
      assert.ok(res.statusCode < 500, res.body);
      if (res.statusCode >= 300 && res.statusCode < 400) {
        assert.equal(res.headers.location, '/account', `redirect_to ${JSON.stringify(bad)} sent the browser to ${String(res.headers.location)}`);
      }
    }
    const allowed = await call(server.app, 'GET', `/login?redirect_to=${encodeURIComponent(APP)}`, { cookies: { gh_session: cookies.gh_session!.value } });
    assert.equal(allowed.headers.location, APP);
  });

  it('the callback ignores a redirect_to of its own and a provider error cannot inject a header or a destination', async () => {
    const started = await begin('acme');
    const back = await consent(started.url, account(alpha));
    back.searchParams.set('redirect_to', 'https://evil.test/');
    const res = await land(back, started.binding);
    assert.equal(new URL(res.headers.location as string).origin, 'http://app.test');

    const errored = await begin('acme');
    const cb = new URL(callbackOf('acme'));
    cb.searchParams.set('state', errored.state);
    cb.searchParams.set('iss', alpha.issuer);
    cb.searchParams.set('error', 'access_denied\r\nLocation: https://evil.test');
    cb.searchParams.set('error_description', '<script>alert(1)</script>\r\nSet-Cookie: gh_session=x');
    await unchanged(async () => {
      const answered = await land(cb, errored.binding);
      assert.ok(answered.statusCode < 500, answered.body);
      if (answered.statusCode === 302) {
        const location = answered.headers.location as string;
        assert.ok(location.startsWith(`${APP}?`), location);
        assert.ok(!/[\r\n]/.test(location));
      }
      assert.equal(cookiesOf(answered).gh_session, undefined);
    });
  });
});
