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
}

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
