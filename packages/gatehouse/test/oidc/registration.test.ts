// Dynamic client registration (RFC 7591): off unless OIDC_REGISTRATION_TOKEN is set (then it is the initial
// access token); a registered client is third-party, cannot give itself client_credentials, API allow-lists or
// URIs the server would call, and is stored like any other (secret hashed, shown once).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqlOidcClientStore } from '../../src/db/oidc-store.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { sha256 } from '../../src/crypto/random.ts';
import { tempDataDir } from '../helpers/backends.ts';
import { authorizationRequest, browse, oidc, REDIRECT, relyingParty, signedInUser, startProvider, type Provider } from './harness.ts';

const TOKEN = 'reg-0123456789-abcdefghijklmnopqrstuvwxyz';

function expectRefusal(env: Record<string, string>, why: RegExp) {
  const data = tempDataDir();
  try {
    assert.throws(() => loadConfig({ DATA_DIR: data.dir, ...env }), (err: unknown) => err instanceof ConfigError && err.variable === 'OIDC_REGISTRATION_TOKEN' && why.test(err.message));
  } finally {
    data.remove();
  }
}

async function register(provider: Provider, body: unknown, token: string | null = TOKEN, contentType = 'application/json') {
  const res = await fetch(`${provider.issuer}/oauth2/register`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, any> = {};
  try {
    json = JSON.parse(text);
  } catch {
    assert.fail(`not JSON (${res.status}): ${text}`);
  }
  return { status: res.status, body: json, challenge: res.headers.get('www-authenticate') };
}

async function discovery(provider: Provider) {
  return (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
}

describe('OIDC_REGISTRATION_TOKEN', () => {
  it('is parsed and checked at start: at least 32 characters, a Bearer token, only with the provider on', () => {
    const data = tempDataDir();
    try {
      assert.equal(loadConfig({ DATA_DIR: data.dir }).oidcRegistrationToken, null);
      assert.equal(loadConfig({ DATA_DIR: data.dir, OIDC_REGISTRATION_TOKEN: TOKEN }).oidcRegistrationToken, TOKEN);
    } finally {
      data.remove();
    }
    expectRefusal({ OIDC_REGISTRATION_TOKEN: 'short-token' }, /at least 32/);
    expectRefusal({ OIDC_REGISTRATION_TOKEN: `${TOKEN} with spaces` }, /Bearer token/);
    expectRefusal({ OIDC_REGISTRATION_TOKEN: 'x'.repeat(513) }, /too long/);
    expectRefusal({ OIDC_REGISTRATION_TOKEN: TOKEN, OIDC_PROVIDER: 'false' }, /provider is off/);
  });
});

describe('OpenID provider: dynamic registration off (no OIDC_REGISTRATION_TOKEN)', () => {
  let provider: Provider;
  before(async () => {
    provider = await startProvider();
  });
  after(async () => {
    await provider.close();
  });

  it('discovery advertises no registration_endpoint and /oauth2/register answers a 4xx in OAuth\'s format', async () => {
    assert.equal((await discovery(provider)).registration_endpoint, undefined);
    const res = await register(provider, { redirect_uris: [REDIRECT] });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found', 'the contract\'s format, as any unknown path');
    const other = await fetch(`${provider.issuer}/oauth2/no-such-endpoint`);
    assert.equal(other.status, 404);
    assert.equal(((await other.json()) as any).error.code, 'not_found');
  });
});

describe('OpenID provider: dynamic registration (RFC 7591) with OIDC_REGISTRATION_TOKEN', () => {
  let provider: Provider;
  before(async () => {
    provider = await startProvider({ env: { OIDC_REGISTRATION_TOKEN: TOKEN } });
  });
  after(async () => {
    await provider.close();
  });

  it('oidcc-dynamic-client-registration: discovery advertises the endpoint; a registration with the token gets a client id and a secret shown once', async () => {
    assert.equal((await discovery(provider)).registration_endpoint, `${provider.issuer}/oauth2/register`);
    const res = await register(provider, { client_name: 'Registered app', redirect_uris: [REDIRECT], post_logout_redirect_uris: ['http://127.0.0.1:9/bye'] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(res.body.client_secret, /^ghcs_/);
    assert.equal(res.body.registration_access_token, undefined, 'no RFC 7592 management');
    assert.equal(res.body.allowed_resources, undefined);
    const stored = await new SqlOidcClientStore(provider.server.runtime.database.db).find(res.body.client_id);
    assert.ok(stored);
    assert.equal(stored.secretHash, sha256(res.body.client_secret), 'stored as SHA-256 only');
    assert.equal(stored.firstParty, false);
    assert.equal(stored.name, 'Registered app');
    assert.deepEqual(stored.metadata.grant_types, ['authorization_code', 'refresh_token']);
    const audit = await provider.server.runtime.database.db.selectFrom('audit_events').selectAll().where('type', '=', 'oidc_client_created').execute();
    assert.ok(audit.some((event) => String(event.detail).includes(res.body.client_id) && String(event.detail).includes('registration')), JSON.stringify(audit));

    // It signs a user in, after the consent page (a registered client is third-party).
    const rp = await relyingParty(provider, res.body.client_id, res.body.client_secret);
    const { cookie } = await signedInUser(provider);
    const request = await authorizationRequest(rp);
    const page = await browse(request.url, cookie);
    assert.equal(page.status, 200);
    assert.match(page.body, /Allow Registered app to use your account\?/);
  });

  it('without the token, or with a wrong one of the same length, it is 401 invalid_token', async () => {
    for (const token of [null, `${TOKEN.slice(0, -1)}X`, 'Bearer']) {
      const res = await register(provider, { redirect_uris: [REDIRECT] }, token);
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.equal(res.body.error, 'invalid_token');
    }
  });

  it('a registration cannot give itself client_credentials, API allow-lists or URIs the server would call: invalid_client_metadata', async () => {
    for (const body of [
      { redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'client_credentials'] },
      { grant_types: ['client_credentials'], response_types: [] },
      { redirect_uris: [REDIRECT], allowed_resources: ['https://api.example.com'] },
      { redirect_uris: [REDIRECT], allowed_scopes: ['admin:all'] },
      { redirect_uris: [REDIRECT], backchannel_logout_uri: 'http://127.0.0.1:6379/' },
      { redirect_uris: [REDIRECT], jwks_uri: 'http://169.254.169.254/latest/meta-data/' },
    ]) {
      const res = await register(provider, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error, 'invalid_client_metadata', JSON.stringify(res.body));
    }
  });

  it('bad input is a 400 in OAuth\'s format: redirect URIs as the CLI checks them, a body that is not a JSON object', async () => {
    for (const redirect of ['http://app.example.com/cb', 'https://app.example.com/cb#frag']) {
      const res = await register(provider, { redirect_uris: [redirect] });
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'invalid_redirect_uri', JSON.stringify(res.body));
    }
    for (const [body, type] of [['{not json', 'application/json'], ['[]', 'application/json'], ['redirect_uris=x', 'application/x-www-form-urlencoded'], ['"x"', 'application/json']] as const) {
      const res = await register(provider, body, TOKEN, type);
      assert.equal(res.status, 400, `${body}: ${JSON.stringify(res.body)}`);
      assert.equal(typeof res.body.error, 'string');
    }
    const nameless = await register(provider, { redirect_uris: ['https://nameless.example.com/cb'] });
    assert.equal(nameless.status, 201, JSON.stringify(nameless.body));
    assert.equal(nameless.body.client_name, 'nameless.example.com', 'named after its redirect URI for the consent page');
  });

  it('a public client (token_endpoint_auth_method none) gets no secret and uses PKCE', async () => {
    const res = await register(provider, { client_name: 'SPA', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.client_secret, undefined);
    const stored = await new SqlOidcClientStore(provider.server.runtime.database.db).find(res.body.client_id);
    assert.equal(stored?.secretHash, null);
    const rp = await relyingParty(provider, res.body.client_id, null);
    assert.ok(oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT, scope: 'openid' }).href.includes(res.body.client_id));
  });
});
