// A minimal relying party on node:http and openid-client v6, with Gatehouse as the OpenID provider:
//   GET  /          signed out: a "Sign in with Gatehouse" link; signed in: the ID token's claims and userinfo
//   GET  /login     starts the code flow (PKCE S256, state, nonce) and redirects to Gatehouse
//   GET  /callback  the redirect URI: exchanges the code, checks the ID token, fetches userinfo
//   POST /refresh   uses the refresh token (offline_access) and shows the new tokens' claims
//   POST /logout    forgets the local session and sends the browser to Gatehouse's end-session endpoint
//   GET  /signed-out the post-logout redirect URI
// Sessions are in memory, keyed by an HttpOnly SameSite=Lax cookie (which also keeps other sites from posting
// to /refresh and /logout): fine for an example, not for several processes.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import * as oidc from 'openid-client';

const COOKIE = 'rp_sid';

/**
 * @param {{ issuer: string, clientId: string, clientSecret?: string, baseUrl: string, offlineAccess?: boolean }} options
 * @returns {Promise<import('node:http').Server>} a server, not yet listening
 */
export async function createApp({ issuer, clientId, clientSecret, baseUrl, offlineAccess = true }) {
  const issuerUrl = new URL(issuer);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(issuerUrl.hostname);
  // Plain http is allowed for a Gatehouse on loopback only (development); anything else must be https.
  const config = await oidc.discovery(issuerUrl, clientId, clientSecret || undefined, clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(), {
    execute: loopback && issuerUrl.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
  });
  const redirectUri = new URL('/callback', baseUrl).href;
  const postLogoutRedirectUri = new URL('/signed-out', baseUrl).href;
  /** @type {Map<string, any>} */
  const sessions = new Map();

  function sessionOf(req, res) {
    const id = cookies(req)[COOKIE];
    if (id && sessions.has(id)) return sessions.get(id);
    const fresh = randomBytes(24).toString('base64url');
    const session = {};
    sessions.set(fresh, session);
    res.setHeader('set-cookie', `${COOKIE}=${fresh}; Path=/; HttpOnly; SameSite=Lax`);
    return session;
  }

  async function handle(req, res) {
    const url = new URL(req.url ?? '/', baseUrl);
    const route = `${req.method} ${url.pathname}`;
    const session = sessionOf(req, res);
    switch (route) {
      case 'GET /':
        return html(res, 200, session.tokens ? signedInPage(session) : signedOutPage());
      case 'GET /login': {
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const nonce = oidc.randomNonce();
        session.pending = { verifier, state, nonce };
        const authorizationUrl = oidc.buildAuthorizationUrl(config, {
          redirect_uri: redirectUri,
          // A refresh token needs offline_access and, as OpenID Connect requires, prompt=consent
          // (a first-party client is not shown a consent page).
          scope: offlineAccess ? 'openid email profile offline_access' : 'openid email profile',
          ...(offlineAccess ? { prompt: 'consent' } : {}),
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        });
        return redirect(res, authorizationUrl.href);
      }
      case 'GET /callback': {
        const pending = session.pending;
        if (!pending) return html(res, 400, page('Error', '<p>No sign-in in progress. <a href="/">Start again</a>.</p>'));
        delete session.pending;
        const tokens = await oidc.authorizationCodeGrant(config, url, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce });
        const claims = tokens.claims();
        session.tokens = tokens;
        session.claims = claims;
        session.idToken = tokens.id_token;
        session.userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
        session.refreshed = 0;
        return redirect(res, '/');
      }
      case 'POST /refresh': {
        if (!session.tokens?.refresh_token) return html(res, 400, page('Error', '<p>No refresh token (sign in with offline_access). <a href="/">Back</a>.</p>'));
        const tokens = await oidc.refreshTokenGrant(config, session.tokens.refresh_token);
        session.tokens = tokens;
        // A refresh may return a new ID token; keep the last one for the logout hint.
        if (tokens.id_token) {
          session.claims = tokens.claims();
          session.idToken = tokens.id_token;
        }
        session.userinfo = await oidc.fetchUserInfo(config, tokens.access_token, session.claims.sub);
        session.refreshed += 1;
        return redirect(res, '/', 303);
      }
      case 'POST /logout': {
        const idToken = session.idToken;
        for (const key of Object.keys(session)) delete session[key];
        if (!idToken) return redirect(res, '/', 303);
        const state = oidc.randomState();
        session.logoutState = state;
        const endSessionUrl = oidc.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: postLogoutRedirectUri, state });
        return redirect(res, endSessionUrl.href, 303);
      }
      case 'GET /signed-out': {
        const expected = session.logoutState;
        delete session.logoutState;
        const ok = expected && url.searchParams.get('state') === expected;
        return html(res, 200, page('Signed out', `<p id="status">${ok ? 'Signed out of Gatehouse and of this app.' : 'Signed out of this app.'}</p><p><a href="/">Home</a></p>`));
      }
      default:
        return html(res, 404, page('Not found', '<p>Not found.</p>'));
    }
  }

  return createServer((req, res) => {
    handle(req, res).catch((err) => {
      console.error(err);
      if (!res.headersSent) html(res, 500, page('Error', `<p>${escape(err?.error ?? err?.message ?? String(err))}${err?.error_description ? `: ${escape(err.error_description)}` : ''}</p><p><a href="/">Home</a></p>`));
      else res.end();
    });
  });
}

function signedOutPage() {
  return page('Example app', '<p id="status">Signed out</p><p><a id="login" href="/login">Sign in with Gatehouse</a></p>');
}

function signedInPage(session) {
  const { claims, userinfo, tokens } = session;
  return page(
    'Example app',
    `<p id="status">Signed in as <span id="email">${escape(claims.email ?? userinfo?.email ?? '')}</span> (sub <code id="sub">${escape(claims.sub)}</code>)</p>
<h2>ID token claims</h2>
<pre id="claims">${escape(JSON.stringify(claims, null, 2))}</pre>
<h2>Userinfo</h2>
<pre id="userinfo">${escape(JSON.stringify(userinfo, null, 2))}</pre>
<p>Access token expires in ${escape(tokens.expiresIn?.() ?? '?')} s; refresh token: ${tokens.refresh_token ? 'yes' : 'no'}; refreshed <span id="refreshed">${session.refreshed}</span> times.</p>
<form method="post" action="/refresh"><button ${tokens.refresh_token ? '' : 'disabled'}>Refresh tokens</button></form>
<form method="post" action="/logout"><button>Log out</button></form>`,
  );
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`;
}

function html(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; form-action 'self' *; base-uri 'none'; frame-ancestors 'none'" });
  res.end(body);
}

function redirect(res, location, status = 302) {
  res.writeHead(status, { location, 'cache-control': 'no-store' });
  res.end();
}

function cookies(req) {
  const out = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0) out[part.slice(0, index).trim()] = part.slice(index + 1).trim();
  }
  return out;
}

function escape(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
