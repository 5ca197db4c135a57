// Real identity providers in the test process, on loopback: an OpenID provider (the npm package
// oidc-provider, with its development login and consent pages), a small imitation of GitHub's OAuth and
// user APIs, and a "browser" that follows redirects and fills in the provider's forms.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A loopback port on which nothing listens: a provider that is down. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await close(server);
  return port;
}

// ---------------------------------------------------------------------------------------------------------
// OpenID provider

export interface AccountClaims {
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface TestOidcProvider {
  issuer: string;
  provider: Provider;
  /** Makes an account that the login form accepts under `id` (the `sub`), with these claims. */
  setAccount(id: string, claims: AccountClaims): void;
  close(): Promise<void>;
}

export interface OidcProviderOptions {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<TestOidcProvider> {
  const accounts = new Map<string, AccountClaims>();
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => handler(req, res));
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;

  // Each instance signs with its own key, as two real providers would.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: randomBytes(8).toString('hex') };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: options.redirectUris,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    // PKCE for every client, confidential ones included (RFC 9700 §2.1.1).
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    jwks: { keys: [jwk as any] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    features: { devInteractions: { enabled: true } },
    ttl: { AuthorizationCode: 60, AccessToken: 600, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    async findAccount(_ctx, id) {
      const claims = accounts.get(id);
      if (!claims) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
  });
  // oidc-provider reports server errors through koa; keep the test output quiet.
  provider.on('server_error', () => {});
  handler = provider.callback();

  return {
    issuer,
    provider,
    setAccount: (id, claims) => accounts.set(id, claims),
    close: () => close(server),
  };
}

// ---------------------------------------------------------------------------------------------------------
// A browser, as far as these flows need one

export interface BrowserOptions {
  /** Stop at the first redirect to this origin (the app being signed in to) and return that URL. */
  stopAt: string;
  /** The account to type into the provider's login form. */
  login?: string;
  /** Press "cancel" at the provider instead of signing in. */
  deny?: boolean;
}

/** Cookies by name, as a browser would keep them for these loopback origins. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/**
 * Opens `start` (the provider's authorization URL) and follows redirects, signing in at the provider's
 * forms, until the provider sends the browser to `stopAt`; returns that callback URL.
 */
export async function followToCallback(start: URL | string, options: BrowserOptions): Promise<URL> {
  const jar = new CookieJar();
  let url = new URL(start);
  let init: RequestInit = { method: 'GET' };
  for (let hop = 0; hop < 20; hop++) {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: jar.header() } });
    jar.store(res);
    init = { method: 'GET' };
    if (res.status >= 300 && res.status < 400) {
      await res.arrayBuffer();
      const next = new URL(res.headers.get('location')!, url);
      if (next.origin === new URL(options.stopAt).origin) return next;
      url = next;
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`the provider answered ${res.status}: ${html.slice(0, 500)}`);
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!prompt) throw new Error(`no form on the provider's page: ${html.slice(0, 500)}`);
    if (options.deny) {
      const abort = /href="([^"]*\/abort)"/.exec(html)?.[1];
      if (!abort) throw new Error('no cancel link on the provider page');
      url = new URL(abort, url);
      continue;
    }
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error('no form action on the provider page');
    const body = new URLSearchParams({ prompt });
    if (prompt === 'login') {
      if (!options.login) throw new Error('the provider asks for a login and none was given');
      body.set('login', options.login);
      body.set('password', 'any password');
    }
    url = new URL(action, url);
    init = { method: 'POST', body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new Error('too many redirects at the provider');
}

// ---------------------------------------------------------------------------------------------------------
// GitHub, imitated: /login/oauth/authorize, /login/oauth/access_token, /user and /user/emails

export interface GitHubUser {
  id: number;
  login: string;
  name: string | null;
  emails: Array<{ email: string; primary: boolean; verified: boolean }>;
}

export interface FakeGitHub {
  url: string;
  /** The user who is "signed in to GitHub" in the browser, and so authorizes the next request. */
  signedIn: GitHubUser | null;
  /** When true, the next authorization is declined by the user. */
  deny: boolean;
  /** Every token request's form, to check what the client sent. */
  tokenRequests: URLSearchParams[];
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

export async function startFakeGitHub(options: { clientId: string; clientSecret: string; redirectUri: string }): Promise<FakeGitHub> {
  const codes = new Map<string, { user: GitHubUser; challenge: string | null; redirectUri: string }>();
  const tokens = new Map<string, GitHubUser>();
  const state: FakeGitHub = { url: '', signedIn: null, deny: false, tokenRequests: [], close: async () => {} };

  const server = createServer((req, res) => {
    const url = new URL(req.url!, state.url);
    void (async () => {
      if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
        const redirectUri = url.searchParams.get('redirect_uri') ?? options.redirectUri;
        if (url.searchParams.get('client_id') !== options.clientId || redirectUri !== options.redirectUri) {
          return json(res, 400, { error: 'redirect_uri_mismatch' });
        }
        const back = new URL(redirectUri);
        const requestState = url.searchParams.get('state');
        if (requestState !== null) back.searchParams.set('state', requestState);
        if (state.deny || !state.signedIn) {
          state.deny = false;
          back.searchParams.set('error', 'access_denied');
          back.searchParams.set('error_description', 'The user has denied your application access.');
        } else {
          const code = randomBytes(10).toString('hex');
          const method = url.searchParams.get('code_challenge_method');
          codes.set(code, { user: state.signedIn, challenge: method === 'S256' ? url.searchParams.get('code_challenge') : null, redirectUri });
          back.searchParams.set('code', code);
        }
        res.writeHead(302, { location: back.href });
        return res.end();
      }
      if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
        const form = new URLSearchParams(await readBody(req));
        state.tokenRequests.push(form);
        // GitHub answers errors with 200 and an `error` field.
        if (form.get('client_id') !== options.clientId || form.get('client_secret') !== options.clientSecret) {
          return json(res, 200, { error: 'incorrect_client_credentials' });
        }
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const pkceOk = grant?.challenge == null || createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
        if (!grant || !pkceOk || form.get('redirect_uri') !== grant.redirectUri) {
          return json(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
        }
        const token = `gho_${randomBytes(16).toString('hex')}`;
        tokens.set(token, grant.user);
        return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
      }
      const user = tokens.get((req.headers.authorization ?? '').replace(/^(Bearer|token) /i, ''));
      if (req.method === 'GET' && (url.pathname === '/user' || url.pathname === '/user/emails')) {
        if (!user) return json(res, 401, { message: 'Bad credentials' });
        if (!req.headers['user-agent']) return json(res, 403, { message: 'User-Agent required' });
        if (url.pathname === '/user') return json(res, 200, { id: user.id, login: user.login, name: user.name, email: null });
        return json(res, 200, user.emails.map((e) => ({ ...e, visibility: e.primary ? 'private' : null })));
      }
      json(res, 404, { message: 'Not Found' });
    })().catch((err) => json(res, 500, { message: String(err) }));
  });
  const port = await listen(server);
  state.url = `http://127.0.0.1:${port}`;
  state.close = () => close(server);
  return state;
}
