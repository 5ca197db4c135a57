// The OpenID provider under test: a real Gatehouse listening on loopback (PUBLIC_URL = its address, so the
// issuer is what openid-client discovers), clients made as the CLI makes them, users signed in through the
// API's session mode, and a browser that follows redirects with the Gatehouse cookies.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import * as oidc from 'openid-client';
import { SqlOidcClientStore } from '../../src/db/oidc-store.ts';
import { createClient, type ClientInput } from '../../src/oidc/clients.ts';
import { startTestServer, type TestServer, type TestServerOptions } from '../helpers/app.ts';
import { call, cookiesOf, registerUser, PASSWORD } from '../helpers/http.ts';

export interface Provider {
  server: TestServer;
  issuer: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export async function startProvider(options: TestServerOptions = {}): Promise<Provider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const server = await startTestServer({ ...options, env: { PUBLIC_URL: issuer, ...options.env } });
  await server.app.listen({ port, host: '127.0.0.1' });
  return { server, issuer, close: () => server.close() };
}

export const REDIRECT = 'http://127.0.0.1:9/callback';

export async function registerClient(provider: Provider, input: Partial<ClientInput> = {}) {
  const { client, secret } = await createClient(
    { clients: new SqlOidcClientStore(provider.server.runtime.database.db), now: provider.server.runtime.ctx.now },
    { name: 'Test app', redirectUris: [REDIRECT], postLogoutRedirectUris: ['http://127.0.0.1:9/signed-out'], ...input },
  );
  return { clientId: client.clientId, secret, client };
}

/** openid-client's view of the provider for one client (discovery over plain http on loopback). */
export async function relyingParty(provider: Provider, clientId: string, secret: string | null): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(provider.issuer), clientId, secret ?? undefined, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

/** A user with a Gatehouse session cookie, as a browser that signed in on the pages would hold. */
export async function signedInUser(provider: Provider, options: { email?: string } = {}) {
  const { app } = provider.server;
  const registered = await registerUser(app, { email: options.email });
  const user = registered.body.user as { id: string; email: string };
  const cookie = await sessionCookie(provider, registered.email);
  return { user, email: registered.email, cookie };
}

export async function sessionCookie(provider: Provider, email: string): Promise<string> {
  const res = await call(provider.server.app, 'POST', '/auth/login', { body: { email, password: PASSWORD, mode: 'session' } });
  assert.equal(res.statusCode, 200, res.body);
  const cookies = cookiesOf(res);
  return `gh_session=${cookies.gh_session!.value}`;
}

export interface Hop {
  status: number;
  url: string;
}

/**
 * Follows redirects from `url` as a browser would, with `cookie` (the Gatehouse session) and the cookies the
 * provider sets on the way; stops at the first URL off the provider (the client's redirect URI) or at a page.
 */
export async function browse(url: string | URL, cookie: string | null, jar: Map<string, string> = new Map()): Promise<{ final: URL; status: number; hops: Hop[]; body: string; jar: Map<string, string> }> {
  let current = new URL(url);
  const origin = current.origin;
  const hops: Hop[] = [];
  for (let i = 0; i < 20; i++) {
    if (current.origin !== origin) return { final: current, status: 0, hops, body: '', jar };
    const cookies = [...(cookie ? [cookie] : []), ...[...jar].map(([k, v]) => `${k}=${v}`)].join('; ');
    const res = await fetch(current, { redirect: 'manual', headers: cookies ? { cookie: cookies } : {} });
    storeCookies(res, jar);
    hops.push({ status: res.status, url: current.href });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      current = new URL(location, current);
      await res.arrayBuffer();
      continue;
    }
    return { final: current, status: res.status, hops, body: await res.text(), jar };
  }
  throw new Error('too many redirects');
}

/** An authorization request with PKCE (S256), state and nonce, as openid-client builds it. */
export async function authorizationRequest(rp: oidc.Configuration, params: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  });
  return { url, verifier, state, nonce };
}

/** Signs in through the whole code flow and returns the tokens. */
export async function codeFlow(provider: Provider, rp: oidc.Configuration, cookie: string, params: Record<string, string> = {}, browser: Map<string, string> = new Map()) {
  const request = await authorizationRequest(rp, params);
  const { final, jar } = await browse(request.url, cookie, browser);
  assert.ok(final.href.startsWith(REDIRECT), `ended at ${final.href}`);
  const tokens = await oidc.authorizationCodeGrant(rp, final, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
  return { tokens, callback: final, request, jar };
}

/** A cookie-authenticated POST /auth/reauthenticate with the password: "confirm it's you" on the pages. */
export async function reauthenticate(provider: Provider, cookie: string): Promise<void> {
  const { app } = provider.server;
  const csrfRes = await call(app, 'GET', '/auth/csrf', { headers: { cookie } });
  const csrfCookie = cookiesOf(csrfRes).gh_csrf!.value;
  const res = await call(app, 'POST', '/auth/reauthenticate', { body: { password: PASSWORD }, headers: { cookie: `${cookie}; gh_csrf=${csrfCookie}`, 'x-csrf-token': csrfRes.json().csrfToken } });
  assert.equal(res.statusCode, 204, res.body);
}

/** POSTs a form as a browser would (application/x-www-form-urlencoded), with cookies; no redirect following. */
export async function postForm(url: string | URL, fields: Record<string, string>, cookie: string | null, jar: Map<string, string>): Promise<Response> {
  const res = await fetch(url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jarCookies(cookie, jar) }, body: new URLSearchParams(fields) });
  storeCookies(res, jar);
  return res;
}

function storeCookies(res: Response, jar: Map<string, string>): void {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const index = pair!.indexOf('=');
    const name = pair!.slice(0, index).trim();
    const value = pair!.slice(index + 1).trim();
    if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
}

export function jarCookies(cookie: string | null, jar: Map<string, string>): string {
  return [...(cookie ? [cookie] : []), ...[...jar].map(([k, v]) => `${k}=${v}`)].join('; ');
}

export { oidc };
