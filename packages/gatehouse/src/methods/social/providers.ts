// OAuth providers: the presets (Google, GitHub, Kakao), any OpenID Connect provider by discovery, and the
// openid-client Configuration each one needs. Settings are read by config.ts; this file turns them into
// a client that speaks to the provider.
import * as client from 'openid-client';

/** `oidc`: an id_token (and userinfo) tells who signed in. `github`: OAuth 2.0 plus GitHub's user and e-mails API. */
export type OAuthKind = 'oidc' | 'github';

export interface OAuthPreset {
  readonly label: string;
  readonly kind: OAuthKind;
  readonly issuer: string;
  readonly scopes: string;
  readonly authorizationUrl?: string;
  readonly tokenUrl?: string;
  readonly userinfoUrl?: string;
  readonly jwksUrl?: string;
}

/** The built-in providers. Only their client id and secret are needed; every field can be overridden. */
export const OAUTH_PRESETS: Readonly<Record<string, OAuthPreset>> = {
  google: { label: 'Google', kind: 'oidc', issuer: 'https://accounts.google.com', scopes: 'openid email profile' },
  kakao: { label: 'Kakao', kind: 'oidc', issuer: 'https://kauth.kakao.com', scopes: 'openid account_email profile_nickname' },
  github: {
    label: 'GitHub',
    kind: 'github',
    // GitHub has no OpenID Connect for sign-in; this is only the name its answers are checked against.
    issuer: 'https://github.com',
    scopes: 'read:user user:email',
    authorizationUrl: 'https://github.com/login/oauth/authorize',
    tokenUrl: 'https://github.com/login/oauth/access_token',
    userinfoUrl: 'https://api.github.com/user',
  },
};

export const GENERIC_OIDC_SCOPES = 'openid email profile';

/** One enabled provider, every default resolved (see config.ts `oauthProviders`). */
export interface OAuthProviderConfig {
  /** Lower-case; the `:provider` of the routes. */
  readonly name: string;
  readonly label: string;
  readonly kind: OAuthKind;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly issuer: string;
  readonly scopes: string;
  /** Overrides; an OIDC provider with authorization, token and JWKS URLs all set skips discovery. */
  readonly authorizationUrl: string | null;
  readonly tokenUrl: string | null;
  readonly userinfoUrl: string | null;
  readonly jwksUrl: string | null;
}

/** Raised when the provider cannot be reached (network, timeout, 5xx): ours to retry, not the user's fault. */
export class ProviderUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProviderUnavailableError';
  }
}

/** Outbound calls to a provider give up after this long. */
const TIMEOUT_SECONDS = 10;
/** Discovered metadata is fetched again after this long, so a provider's key or endpoint change is picked up. */
const DISCOVERY_TTL_MS = 24 * 3_600_000;

function usesHttp(provider: OAuthProviderConfig): boolean {
  // config.ts allows http only for loopback addresses (a provider run next to Gatehouse, or a test).
  return [provider.issuer, provider.authorizationUrl, provider.tokenUrl, provider.userinfoUrl, provider.jwksUrl].some((u) => u?.startsWith('http:'));
}

function skipsDiscovery(provider: OAuthProviderConfig): boolean {
  if (provider.kind === 'github') return true;
  return provider.authorizationUrl !== null && provider.tokenUrl !== null && provider.jwksUrl !== null;
}

/** Applies the endpoint overrides on top of what discovery found (or builds the metadata from them alone). */
function withOverrides(provider: OAuthProviderConfig, discovered: client.ServerMetadata | null): client.ServerMetadata {
  return {
    ...(discovered ?? { code_challenge_methods_supported: ['S256'] }),
    issuer: discovered?.issuer ?? provider.issuer,
    ...(provider.authorizationUrl ? { authorization_endpoint: provider.authorizationUrl } : {}),
    ...(provider.tokenUrl ? { token_endpoint: provider.tokenUrl } : {}),
    ...(provider.userinfoUrl ? { userinfo_endpoint: provider.userinfoUrl } : {}),
    ...(provider.jwksUrl ? { jwks_uri: provider.jwksUrl } : {}),
  };
}

/** The openid-client Configuration of each provider, discovered once and cached per process. */
export class ProviderClients {
  private readonly cache = new Map<string, { config: Promise<client.Configuration>; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get(provider: OAuthProviderConfig): Promise<client.Configuration> {
    const cached = this.cache.get(provider.name);
    if (cached && cached.expiresAt > this.now()) return cached.config;
    const config = this.load(provider);
    this.cache.set(provider.name, { config, expiresAt: this.now() + DISCOVERY_TTL_MS });
    // A failed discovery is not remembered: the next sign-in tries again.
    config.catch(() => {
      if (this.cache.get(provider.name)?.config === config) this.cache.delete(provider.name);
    });
    return config;
  }

  private async load(provider: OAuthProviderConfig): Promise<client.Configuration> {
    const insecure = usesHttp(provider);
    let discovered: client.ServerMetadata | null = null;
    if (!skipsDiscovery(provider)) {
      try {
        const found = await client.discovery(new URL(provider.issuer), provider.clientId, undefined, undefined, {
          timeout: TIMEOUT_SECONDS,
          execute: insecure ? [client.allowInsecureRequests] : [],
        });
        discovered = { ...found.serverMetadata() };
      } catch (err) {
        throw new ProviderUnavailableError(`OpenID Connect discovery failed for ${provider.name}`, { cause: err });
      }
    }
    const config = new client.Configuration(
      withOverrides(provider, discovered),
      provider.clientId,
      { client_secret: provider.clientSecret },
      client.ClientSecretPost(provider.clientSecret),
    );
    config.timeout = TIMEOUT_SECONDS;
    if (insecure) client.allowInsecureRequests(config);
    return config;
  }
}
