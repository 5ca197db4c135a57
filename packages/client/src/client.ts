// The Gatehouse client: sign-up, login, logout and a fetch that carries the access token. Tokens live in
// this object's private fields only (never localStorage, where any injected script could read them). On a
// 401 token_expired it refreshes once and retries; however many requests fail at once, one refresh runs.
import { canShareAcrossTabs, claimsOf, TabRefresh } from './cross-tab.ts';
import { errorCodeOf, toError } from './errors.ts';

export type LoginMode = 'token' | 'cookie';

export interface ClientOptions {
  /** Gatehouse's URL, e.g. `https://auth.example.com` (a path prefix is kept). */
  baseUrl: string;
  /**
   * `token` (default): both tokens are kept in memory; a reload signs the user out.
   * `cookie`: the refresh token stays in Gatehouse's HttpOnly cookie, so `refresh()` after a reload resumes
   * the session; the refresh is sent with the CSRF token from `GET /auth/csrf`.
   */
  mode?: LoginMode;
  /** A fetch implementation (default the global one). */
  fetch?: typeof globalThis.fetch;
  /**
   * Origins that `client.fetch` sends the access token to. Default: Gatehouse's origin and, in a browser,
   * the page's own. A request to any other origin goes out without it, so a URL from elsewhere cannot
   * collect the token.
   */
  tokenOrigins?: readonly string[];
  /**
   * Cookie mode in a browser: tabs of this origin elect one refresher (Web Locks, or a BroadcastChannel
   * election where there are none) and share the new access token over a BroadcastChannel, so twenty
   * tabs whose token expired send one refresh. Default true; `false` keeps each tab on its own.
   * Token mode never shares: each tab holds its own refresh token (its own session).
   */
  crossTab?: boolean;
  /**
   * The browser side of WebAuthn, for `signInWithPasskey()` and `registerPasskey()`: `@simplewebauthn/browser`
   * itself (`import * as webauthn from '@simplewebauthn/browser'`), or any object with the same two functions.
   * The client has no dependencies, so it does not bring a WebAuthn library of its own.
   */
  webauthn?: WebAuthnAdapter;
}

/** JSON, as WebAuthn's `…OptionsJSON` and `…ResponseJSON` types are; kept loose so any adapter fits. */
export type WebAuthnJSON = Record<string, unknown>;

/**
 * What `@simplewebauthn/browser` exports (v13 and v14): each turns Gatehouse's options into a ceremony of the
 * browser's `navigator.credentials` and resolves to the response to send back.
 */
export interface WebAuthnAdapter {
  startAuthentication(options: { optionsJSON: any; useBrowserAutofill?: boolean }): Promise<any>;
  startRegistration(options: { optionsJSON: any }): Promise<any>;
}

/** A passkey just added to the account. `recoveryCodes` come with the account's first second factor only: show them once. */
export interface RegisteredPasskey {
  id: string;
  name: string;
  createdAt: string;
  recoveryCodes?: string[];
}

/** A magic link's token (from the link's `?token=`), or the address and the 6-digit code from the same e-mail. */
export type MagicLinkProof = { token: string } | { email: string; code: string };

export interface User {
  id: string;
  email: string;
  name: string;
  role: string;
  emailVerified: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

export type SessionEndReason = 'logout' | 'refresh_token_reused' | 'invalid_refresh_token' | 'token_revoked';

export interface SessionEndedDetail {
  reason: SessionEndReason;
}

/** The second factors a challenge may be answered with (those the user has). */
export type MfaMethod = 'totp' | 'webauthn' | 'recovery_code';

/**
 * What `login()` resolves to for an account with a second factor: no tokens yet, a ticket for `verifyMfa()`.
 * The ticket lives `expiresIn` seconds, works once and dies after five wrong codes.
 */
export interface MfaChallenge {
  mfaRequired: true;
  mfaTicket: string;
  methods: MfaMethod[];
  expiresIn: number;
}

/** Signed in (the user), or a second factor is needed first: `if ('mfaRequired' in result)` tells them apart. */
export type LoginResult = User | MfaChallenge;

/** A code from the authenticator app, or one of the recovery codes. */
export type MfaProof = { code: string } | { recoveryCode: string };

/** Step-up: the password for an account without a second factor, a factor's code for one with. */
export type ReauthProof = { password: string } | MfaProof;

interface LoginBody {
  user: User;
  accessToken: string;
  refreshToken?: string;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

export class GatehouseClient extends EventTarget {
  readonly mode: LoginMode;
  readonly #base: string;
  readonly #fetch: typeof globalThis.fetch;
  readonly #tokenOrigins: ReadonlySet<string>;
  #accessToken: string | null = null;
  #refreshToken: string | null = null;
  #csrfToken: string | null = null;
  #user: User | null = null;
  #refreshing: Promise<boolean> | null = null;
  #obtainedAt = 0;
  readonly #tabs: TabRefresh | null;
  readonly #webauthn: WebAuthnAdapter | null;

  constructor(options: ClientOptions) {
    super();
    if (typeof options?.baseUrl !== 'string') throw new TypeError('createClient: "baseUrl" is required');
    const base = new URL(options.baseUrl);
    const mode = options.mode ?? 'token';
    if (mode !== 'token' && mode !== 'cookie') throw new TypeError('createClient: "mode" is "token" or "cookie"');
    this.mode = mode;
    this.#base = base.href.replace(/\/+$/, '');
    // Bound, so a browser's fetch is not called with the client as `this` (an "Illegal invocation").
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#webauthn = options.webauthn ?? null;
    const pageOrigin = (globalThis as { location?: { origin?: string } }).location?.origin;
    this.#tokenOrigins = new Set(options.tokenOrigins ?? [base.origin, ...(pageOrigin && pageOrigin !== 'null' ? [pageOrigin] : [])]);
    this.#tabs =
      mode === 'cookie' && options.crossTab !== false && canShareAcrossTabs()
        ? new TabRefresh(this.#base, {
            current: () => (this.#accessToken ? { accessToken: this.#accessToken, user: this.#user, obtainedAt: this.#obtainedAt } : null),
            adopt: (token) => {
              this.#accessToken = token.accessToken;
              this.#user = (token.user as User | null) ?? this.#user;
              this.#obtainedAt = token.obtainedAt;
            },
            ended: (reason, sid) => {
              const mine = claimsOf(this.#accessToken).sid ?? null;
              if (sid === null || mine === null || sid === mine) this.#endSession(reason as SessionEndReason, false);
            },
          })
        : null;
  }

  /** Stops listening to other tabs (cookie mode in a browser); the client still works on its own. */
  close(): void {
    this.#tabs?.close();
  }

  /** The signed-in user as of the last login or refresh, or null. */
  get user(): User | null {
    return this.#user;
  }

  get isAuthenticated(): boolean {
    return this.#accessToken !== null;
  }

  /** The current access token, for a transport `fetch` cannot carry (a WebSocket handshake). */
  get accessToken(): string | null {
    return this.#accessToken;
  }

  async register(input: { email: string; password: string; name?: string }): Promise<User> {
    const result = await this.#signIn('/auth/register', input);
    if ('mfaRequired' in result) throw new TypeError('Gatehouse answered a sign-up with a second-factor challenge');
    return result;
  }

  /**
   * Signs in with a password. For an account with a second factor nothing is signed in yet: the result is
   * the challenge, to finish with `verifyMfa()`.
   */
  async login(input: { email: string; password: string }): Promise<LoginResult> {
    return this.#signIn('/auth/login', input);
  }

  /** The second step of a login that answered a challenge; signs in in the client's mode. */
  async verifyMfa(input: { mfaTicket: string } & MfaProof): Promise<User> {
    const proof = 'code' in input ? { code: input.code } : { recoveryCode: input.recoveryCode };
    const result = await this.#signIn('/auth/mfa/verify', { mfaTicket: input.mfaTicket, ...proof });
    if ('mfaRequired' in result) throw new TypeError('Gatehouse answered a second challenge to a second factor');
    return result;
  }

  /**
   * Step-up: proves again who the signed-in user is, for the routes that need a recent sign-in (they answer
   * 403 `reauthentication_required`). With a second factor, only a factor's code is accepted.
   */
  async reauthenticate(proof: ReauthProof): Promise<void> {
    const res = await this.fetch(`${this.#base}/auth/reauthenticate`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(proof),
      credentials: this.#credentials(),
    });
    if (!res.ok) throw await toError(res);
  }

  /**
   * Signs in with a passkey: asks Gatehouse for options (for `email`'s passkeys, or, without one, usernameless:
   * the browser offers the passkeys it holds for the site), runs the browser's ceremony through the `webauthn`
   * adapter, and signs in in the client's mode. A passkey that verified the user (PIN, biometrics) signs in alone;
   * one that did not resolves to the MFA challenge, like a password. `useBrowserAutofill`: conditional mediation
   * (the passkeys are offered in an `<input autocomplete="username webauthn">`'s suggestions; the promise waits
   * until one is picked). The adapter's errors (`NotAllowedError` when the person cancels) are thrown as they are.
   */
  async signInWithPasskey(input: { email?: string; useBrowserAutofill?: boolean } = {}): Promise<LoginResult> {
    const webauthn = this.#adapter();
    const res = await this.#fetch(`${this.#base}/auth/passkeys/login/options`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(input.email === undefined ? {} : { email: input.email }),
      credentials: this.#credentials(),
    });
    if (!res.ok) throw await toError(res);
    const optionsJSON = (await res.json()) as WebAuthnJSON;
    const response = await webauthn.startAuthentication(input.useBrowserAutofill ? { optionsJSON, useBrowserAutofill: true } : { optionsJSON });
    return this.#signIn('/auth/passkeys/login', { response });
  }

  /**
   * Adds a passkey to the signed-in account (`name` defaults to "Passkey"). Needs a recent sign-in: otherwise
   * `GatehouseError` 403 `reauthentication_required` (call `reauthenticate()`, then again).
   */
  async registerPasskey(input: { name?: string } = {}): Promise<RegisteredPasskey> {
    const webauthn = this.#adapter();
    const options = await this.fetch(`${this.#base}/auth/passkeys/register/options`, { method: 'POST', headers: JSON_HEADERS, body: '{}', credentials: this.#credentials() });
    if (!options.ok) throw await toError(options);
    const response = await webauthn.startRegistration({ optionsJSON: (await options.json()) as WebAuthnJSON });
    const res = await this.fetch(`${this.#base}/auth/passkeys/register`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(input.name === undefined ? { response } : { response, name: input.name }),
      credentials: this.#credentials(),
    });
    if (!res.ok) throw await toError(res);
    return (await res.json()) as RegisteredPasskey;
  }

  /** The second step of a challenge with a passkey (when `methods` has `webauthn`); signs in in the client's mode. */
  async verifyMfaWithPasskey(input: { mfaTicket: string }): Promise<User> {
    const webauthn = this.#adapter();
    const res = await this.#fetch(`${this.#base}/auth/mfa/webauthn/options`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ mfaTicket: input.mfaTicket }), credentials: this.#credentials() });
    if (!res.ok) throw await toError(res);
    const webauthnResponse = await webauthn.startAuthentication({ optionsJSON: (await res.json()) as WebAuthnJSON });
    const result = await this.#signIn('/auth/mfa/verify', { mfaTicket: input.mfaTicket, webauthn: webauthnResponse });
    if ('mfaRequired' in result) throw new TypeError('Gatehouse answered a second challenge to a second factor');
    return result;
  }

  /** Step-up with a passkey of the signed-in user (`POST /auth/reauthenticate` with `{ webauthn }`). */
  async reauthenticateWithPasskey(): Promise<void> {
    const webauthn = this.#adapter();
    const options = await this.fetch(`${this.#base}/auth/reauthenticate/webauthn/options`, { method: 'POST', headers: JSON_HEADERS, body: '{}', credentials: this.#credentials() });
    if (!options.ok) throw await toError(options);
    const response = await webauthn.startAuthentication({ optionsJSON: (await options.json()) as WebAuthnJSON });
    const res = await this.fetch(`${this.#base}/auth/reauthenticate`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ webauthn: response }), credentials: this.#credentials() });
    if (!res.ok) throw await toError(res);
  }

  /**
   * E-mails a sign-in link and a 6-digit code to `email` (`POST /auth/magic-link`, 202 whatever the address).
   * `redirectTo`: where the link's page sends the browser afterwards (`/account` or an `OAUTH_REDIRECT_ALLOWLIST` entry).
   */
  async requestMagicLink(email: string, redirectTo?: string): Promise<void> {
    const res = await this.#fetch(`${this.#base}/auth/magic-link`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(redirectTo === undefined ? { email } : { email, redirect_to: redirectTo }),
      credentials: this.#credentials(),
    });
    if (!res.ok) throw await toError(res);
  }

  /** Signs in with a magic link's token, or the address and its code; resolves like `login()` (the challenge for an account with a second factor). */
  async verifyMagicLink(input: MagicLinkProof): Promise<LoginResult> {
    const proof = 'token' in input ? { token: input.token } : { email: input.email, code: input.code };
    return this.#signIn('/auth/magic-link/verify', proof);
  }

  /** Ends this session on Gatehouse and forgets the tokens; emits `sessionEnded` with reason `logout`. */
  async logout(): Promise<void> {
    try {
      if (this.#accessToken) await this.fetch(`${this.#base}/auth/logout`, { method: 'POST', credentials: this.#credentials() });
    } finally {
      this.#endSession('logout');
    }
  }

  /**
   * Gets a new access token (and, in token mode, refresh token). True on success; false when the session
   * is over (then `sessionEnded` is emitted if there was one). One refresh at a time: callers that arrive
   * while one runs share its result, because Gatehouse treats a second use of a rotated token as theft.
   */
  refresh(): Promise<boolean> {
    this.#refreshing ??= (this.#tabs ? this.#tabs.run(() => this.#refreshOnce()) : this.#refreshOnce()).finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  /**
   * `fetch` with `Authorization: Bearer <access token>` for Gatehouse and the configured origins. On a
   * 401 `token_expired` it refreshes once and retries once; any other answer is returned as it is.
   */
  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const request = new Request(this.#resolve(input), init);
    const carriesToken = this.#tokenOrigins.has(new URL(request.url).origin) && !request.headers.has('authorization');
    if (!carriesToken) return this.#fetch(request);
    const sentWith = this.#accessToken;
    const res = await this.#fetch(this.#withToken(request.clone(), sentWith));
    if (res.status !== 401 || sentWith === null) return res;
    const code = await errorCodeOf(res);
    if (code === 'token_revoked') {
      if (this.#accessToken === sentWith) this.#endSession('token_revoked');
      return res;
    }
    if (code !== 'token_expired') return res;
    // Another request may have refreshed while this one was on its way: then just use the new token.
    if (this.#accessToken === sentWith && !(await this.refresh())) return res;
    if (this.#accessToken === null) return res;
    return this.#fetch(this.#withToken(request, this.#accessToken));
  }

  /** Calls `listener` when the session ends (logout, or a refresh Gatehouse refuses); returns an unsubscribe. */
  onSessionEnded(listener: (detail: SessionEndedDetail) => void): () => void {
    const handler = (event: Event) => listener((event as CustomEvent<SessionEndedDetail>).detail);
    this.addEventListener('sessionEnded', handler);
    return () => this.removeEventListener('sessionEnded', handler);
  }

  async #signIn(path: string, input: object): Promise<LoginResult> {
    const res = await this.#fetch(`${this.#base}${path}`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ ...input, mode: this.mode }),
      credentials: this.#credentials(),
    });
    if (!res.ok) throw await toError(res);
    const body = (await res.json()) as LoginBody | MfaChallenge;
    if ('mfaRequired' in body && body.mfaRequired === true) {
      return { mfaRequired: true, mfaTicket: body.mfaTicket, methods: body.methods, expiresIn: body.expiresIn };
    }
    this.#keep(body as LoginBody);
    return this.#user!;
  }

  async #refreshOnce(): Promise<boolean> {
    if (this.mode === 'token' && !this.#refreshToken) return false;
    let res = await this.#refreshRequest();
    if (this.mode === 'cookie' && res.status === 403 && (await errorCodeOf(res)) === 'csrf_failed') {
      // The CSRF cookie may have expired or been replaced: fetch a fresh pair once.
      this.#csrfToken = null;
      res = await this.#refreshRequest();
    }
    if (res.ok) {
      this.#keep((await res.json()) as LoginBody);
      this.#tabs?.publish({ accessToken: this.#accessToken!, user: this.#user, obtainedAt: this.#obtainedAt });
      return true;
    }
    if (res.status === 401) {
      const code = await errorCodeOf(res);
      this.#endSession(code === 'refresh_token_reused' ? 'refresh_token_reused' : 'invalid_refresh_token');
      return false;
    }
    // 429, 5xx, a proxy: the session may be fine; let the caller see the failure.
    throw await toError(res);
  }

  async #refreshRequest(): Promise<Response> {
    if (this.mode === 'token') {
      return this.#fetch(`${this.#base}/auth/refresh`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ refreshToken: this.#refreshToken }) });
    }
    const csrf = this.#csrfToken ?? (await this.#fetchCsrfToken());
    return this.#fetch(`${this.#base}/auth/refresh`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'x-csrf-token': csrf },
      body: '{}',
      credentials: 'include',
    });
  }

  async #fetchCsrfToken(): Promise<string> {
    const res = await this.#fetch(`${this.#base}/auth/csrf`, { headers: { accept: 'application/json' }, credentials: 'include' });
    if (!res.ok) throw await toError(res);
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    this.#csrfToken = csrfToken;
    return csrfToken;
  }

  #keep(body: LoginBody): void {
    this.#accessToken = body.accessToken ?? null;
    if (this.mode === 'token') this.#refreshToken = body.refreshToken ?? null;
    this.#user = body.user ?? this.#user;
    this.#obtainedAt = Math.max(Date.now(), this.#obtainedAt + 1);
  }

  #endSession(reason: SessionEndReason, tellOtherTabs = true): void {
    const hadSession = this.#accessToken !== null || this.#refreshToken !== null;
    // The refresh cookie is shared, so the session ended for every tab of this origin.
    if (tellOtherTabs) this.#tabs?.publishEnded(reason, claimsOf(this.#accessToken).sid ?? null);
    this.#accessToken = null;
    this.#refreshToken = null;
    this.#user = null;
    if (hadSession) this.dispatchEvent(new CustomEvent<SessionEndedDetail>('sessionEnded', { detail: { reason } }));
  }

  #withToken(request: Request, token: string | null): Request {
    if (token === null) return request;
    const headers = new Headers(request.headers);
    headers.set('authorization', `Bearer ${token}`);
    return new Request(request, { headers });
  }

  #adapter(): WebAuthnAdapter {
    if (!this.#webauthn) throw new TypeError('createClient: passkeys need the "webauthn" option (e.g. import * as webauthn from "@simplewebauthn/browser")');
    return this.#webauthn;
  }

  #credentials(): RequestCredentials {
    return this.mode === 'cookie' ? 'include' : 'same-origin';
  }

  // Relative URLs resolve like a browser's fetch (against the page), or against Gatehouse where there is no page.
  #resolve(input: RequestInfo | URL): RequestInfo | URL {
    if (typeof input !== 'string') return input;
    const page = (globalThis as { location?: { href?: string } }).location?.href;
    return new URL(input, page ?? `${this.#base}/`);
  }
}

export function createClient(options: ClientOptions): GatehouseClient {
  return new GatehouseClient(options);
}
