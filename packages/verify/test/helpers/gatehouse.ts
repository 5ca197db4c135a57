// A real Gatehouse for these tests, built by the server's own test helper. The import is dynamic and
// untyped on purpose: this package must not depend on the server, not even through its types (the server
// declares its own `request.auth` on Fastify, which would clash with ours in one type-check).
import assert from 'node:assert/strict';

export interface Gatehouse {
  /** Where it listens, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Its PUBLIC_URL: the `iss` and `aud` of its tokens. */
  issuer: string;
  jwksUrl: string;
  clock: { now: number; advance(ms: number): void } | null;
  config: { accessTokenTtlMs: number };
  /** Adds a signing key that signs from now on. */
  rotateKey(): Promise<{ kid: string }>;
  createUser(input: { email: string; password: string; role: string }): Promise<void>;
  /** Registers an OpenID provider client as `gatehouse clients create` does; the secret is shown once. */
  /** A logout token signed by the provider's back-channel logout (the server's own code and keys). */
  logoutToken(clientId: string, sub: string, sid?: string): Promise<string>;
  registerClient(input: { name: string; redirectUris?: string[]; grants?: string[]; backchannelLogoutUri?: string; firstParty?: boolean; resources?: string[]; scopes?: string[] }): Promise<{ clientId: string; secret: string }>;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  redis?: boolean;
  redisPrefix?: string;
  fakeClock?: number;
}

const serverTest = new URL('../../../gatehouse/test/', import.meta.url);
const load = (path: string): Promise<any> => import(new URL(path, serverTest).href);

export async function startGatehouse(options: StartOptions = {}): Promise<Gatehouse> {
  const { startTestServer } = await load('helpers/app.ts');
  const { createUser } = await load('../src/users/service.ts');
  const { createClient } = await load('../src/oidc/clients.ts');
  const { SqlOidcClientStore } = await load('../src/db/oidc-store.ts');
  const { backchannelLogouts } = await load('../src/oidc/backchannel.ts');
  const server = await startTestServer({ ...options, env: { ROLES: 'manager', LOG_LEVEL: 'warn', KEY_ACTIVATION_DELAY: '0s', ...options.env } });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.app.server.address();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    issuer: server.config.publicUrl,
    jwksUrl: `${url}/.well-known/jwks.json`,
    clock: server.clock,
    config: server.config,
    rotateKey: () => server.runtime.ctx.keyRing.rotate(),
    createUser: async (input) => {
      await createUser(server.runtime.ctx, { ...input, emailVerified: true });
    },
    logoutToken: (clientId, sub, sid) => backchannelLogouts.get(server.runtime.ctx).logoutToken(clientId, sub, sid),
    registerClient: async (input) => {
      const deps = { clients: new SqlOidcClientStore(server.runtime.database.db), now: server.runtime.ctx.now };
      const { client, secret } = await createClient(deps, { redirectUris: [], ...input });
      return { clientId: client.clientId, secret };
    },
    close: () => server.close(),
  };
}

/** The server's rule for Redis tests: skipped with a message outside CI, a failure in CI. */
export async function skipUnlessRedis(): Promise<false | string> {
  return (await load('helpers/backends.ts')).skipUnlessRedis();
}

export async function redisUrl(): Promise<string> {
  return (await load('helpers/backends.ts')).REDIS_URL;
}

let counter = 0;
export const PASSWORD = 'correct horse battery staple';

export function uniqueEmail(prefix = 'verify'): string {
  counter += 1;
  return `${prefix}${counter}.${process.pid}.${Date.now()}@example.com`;
}

export async function post(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

/** Registers a user (or logs in one made with createUser) and returns its tokens. */
export async function signUp(gatehouse: Gatehouse, options: { role?: string } = {}): Promise<{ accessToken: string; refreshToken: string; user: { id: string; role: string } }> {
  const email = uniqueEmail();
  if (options.role && options.role !== 'user') {
    await gatehouse.createUser({ email, password: PASSWORD, role: options.role });
    const res = await post(`${gatehouse.url}/auth/login`, { email, password: PASSWORD });
    assert.equal(res.status, 200, await res.clone().text());
    return res.json() as any;
  }
  const res = await post(`${gatehouse.url}/auth/register`, { email, password: PASSWORD, name: 'Verify Test' });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json() as any;
}

/** A client_credentials token from the OpenID provider (for `resource`, when given). */
export async function clientCredentialsToken(gatehouse: Gatehouse, client: { clientId: string; secret: string }, params: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${gatehouse.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${client.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  });
  const body = (await res.json()) as { access_token?: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.access_token!;
}
