// The OpenID provider (an OAuth 2.0 authorization server): panva's oidc-provider, configured for Gatehouse and
// rebuilt whenever the key ring's signer or published keys change (keys.ts). Everything it stores goes through
// the database adapter, so a rebuilt provider, another instance or a restart sees the same state.
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { ClientInfo, Context } from '../context.ts';
import { recordEvent } from '../audit/service.ts';
import type { KeyStore } from '../crypto/keys.ts';
import { randomBytes } from 'node:crypto';
import { deriveKey, randomToken, safeEqual, sha256 } from '../crypto/random.ts';
import { accountFinder } from './account.ts';
import { ACR_VALUES_SUPPORTED } from './acr.ts';
import { adapterFactory } from './adapter.ts';
import { keysFingerprint, providerKeys } from './keys.ts';
import { gatehousePolicy, gatehouseSessionOfRequest } from './policy.ts';
import { refuseRefreshTarget, resourceIndicators } from './resources.ts';
import { clientMetadataPolicy } from './registration.ts';
import { deriveSuccessorIds, refreshSuccessor } from './refresh-grace.ts';
import { CLIENT_SECRET_PREFIX } from './clients.ts';
import type { OidcClientStore, OidcPayloadStore } from './store.ts';

/** Every endpoint the provider serves itself, under /oauth2/ (CONTRACT, OpenID provider). */
export const OAUTH2_ROUTES = {
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  userinfo: '/oauth2/userinfo',
  revocation: '/oauth2/revoke',
  introspection: '/oauth2/introspect',
  end_session: '/oauth2/logout',
  registration: '/oauth2/register',
  // The ring's keys are published where they always were; the Fastify route serves them.
  jwks: '/.well-known/jwks.json',
} as const;

/** The key of a provider session's per-client entry (`authorizations[clientId]`) that holds the Gatehouse session id. */
export const GATEHOUSE_SESSION = 'gatehouseSessionId';

/** A provider session's entry for one client: oidc-provider's sid and grantId, and ours. */
export interface GatehouseAuthorization {
  sid?: string;
  grantId?: string;
  persistsLogout?: boolean;
  [GATEHOUSE_SESSION]?: string;
}

/** Who sent a request the provider handles (the catch-all in routes/oauth2.ts records it): for the audit log. */
export const requestClients = new WeakMap<IncomingMessage, ClientInfo>();

export const interactionPath = (uid: string) => `/oauth2/interaction/${uid}`;

const SECONDS = (ms: number) => Math.max(1, Math.floor(ms / 1000));

export interface OidcDependencies {
  keyStore: KeyStore;
  payloads: OidcPayloadStore;
  clients: OidcClientStore;
  /** Renders the RP-initiated logout confirmation and its "signed out" page (ours, not oidc-provider's). */
  pages?: Pick<NonNullable<NonNullable<Configuration['features']>['rpInitiatedLogout']>, 'logoutSource' | 'postLogoutSuccessSource'>;
  /** Ends the Gatehouse session of the browser that confirmed an RP-initiated logout. */
  onLogout?: (koa: KoaContextWithOIDC) => Promise<void>;
}

function configuration(ctx: Context, deps: OidcDependencies, keys: Awaited<ReturnType<typeof providerKeys>>): Configuration {
  const { config } = ctx;
  // The ring's algorithm (RS256, ES256 or EdDSA): config.ts refuses the provider with HS256.
  const alg = keys.alg as 'RS256';
  return {
    adapter: adapterFactory({
      payloads: deps.payloads,
      clients: deps.clients,
      now: ctx.now,
      registration: config.oidcRegistrationToken !== null,
      // REFRESH_REUSE_GRACE for clients' refresh tokens too (refresh-grace.ts); 0 turns it off, as for Gatehouse's own.
      refreshGrace: config.refreshReuseGraceMs > 0 ? { graceMs: config.refreshReuseGraceMs, successorOf: refreshSuccessor(ctx) } : undefined,
    }),
    clients: [],
    jwks: { keys: keys.keys as NonNullable<Configuration['jwks']>['keys'] },
    findAccount: accountFinder(ctx),
    // Signed, under keys that are GATEHOUSE_SECRET's and nothing else's.
    cookies: {
      keys: [deriveKey(config.secret, 'oidc-cookies').toString('base64url')],
      long: { signed: true, secure: config.secureCookies, sameSite: 'lax' },
      short: { signed: true, secure: config.secureCookies, sameSite: 'lax' },
    },
    // acr, amr and auth_time with openid itself: every ID token says how and when the user signed in (CONTRACT).
    claims: { openid: ['sub', 'acr', 'amr', 'auth_time'], email: ['email', 'email_verified'], profile: ['name'] },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    acrValues: ACR_VALUES_SUPPORTED,
    // The scope's claims in the ID token too, not only at userinfo (CONTRACT: ID tokens carry email, name per scope).
    conformIdTokenClaims: false,
    // Exact redirect URIs, always sent (OpenID Connect Core §3.1.2.1).
    allowOmittingSingleRegisteredRedirectUri: false,
    responseTypes: ['code'],
    // PKCE with S256 for every client, confidential ones too (RFC 9700 §2.1.1); oidc-provider 9 knows only S256.
    pkce: { required: () => true },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    // The per-client allow-lists of API resources and scopes (resources.ts), which registration cannot set, and
    // the registration rules (registration.ts).
    extraClientMetadata: clientMetadataPolicy(),
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: alg,
      // auth_time in every ID token (CONTRACT), not only when max_age is asked.
      require_auth_time: true,
    },
    // Asymmetric only: the stored "secret" is a hash, so no HMAC can be keyed with it.
    enabledJWA: {
      idTokenSigningAlgValues: [alg],
      userinfoSigningAlgValues: [alg],
      introspectionSigningAlgValues: [alg],
      authorizationSigningAlgValues: [alg],
      requestObjectSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    routes: OAUTH2_ROUTES,
    interactions: { url: (_koa, interaction) => interactionPath(interaction.uid), policy: gatehousePolicy(ctx) },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true, ...deps.pages },
      // RFC 7591, only with OIDC_REGISTRATION_TOKEN as the initial access token (off, it is not advertised).
      registration: config.oidcRegistrationToken
        ? {
            enabled: true,
            initialAccessToken: config.oidcRegistrationToken,
            issueRegistrationAccessToken: false,
            idFactory: () => randomBytes(16).toString('base64url'),
            secretFactory: () => randomToken(CLIENT_SECRET_PREFIX),
          }
        : { enabled: false },
      // RFC 8707: a `resource` gets a JWT access token for that API (aud = the resource); see resources.ts.
      resourceIndicators: resourceIndicators(ctx, alg),
    },
    // Refresh tokens only with offline_access (oidc-provider's default), rotated on every use; a rotated one
    // presented again revokes the grant (oidc-provider's reuse detection), except within REFRESH_REUSE_GRACE
    // while its successor is unused (refresh-grace.ts).
    // The hook runs right before the rotation: a refresh asking for a resource it may not have is refused
    // there, before the presented token is spent (resources.ts).
    rotateRefreshToken: (koa) => {
      refuseRefreshTarget(koa, config.publicUrl);
      return true;
    },
    // Consent is once per user and client (CONTRACT), not once per browser: a grant given elsewhere counts.
    loadExistingGrant: async (koa) => {
      const { oidc } = koa;
      const clientId = oidc.client!.clientId;
      const grantId = oidc.result?.consent?.grantId || oidc.session!.grantIdFor(clientId);
      if (grantId) return oidc.provider.Grant.find(grantId);
      const accountId = oidc.session!.accountId;
      if (!accountId) return undefined;
      const grants = (await deps.payloads.listGrants(accountId, ctx.now())).filter((grant) => grant.clientId === clientId);
      const newest = grants.sort((a, b) => Number(b.iat) - Number(a.iat))[0];
      return newest ? oidc.provider.Grant.find(String(newest.jti)) : undefined;
    },
    ttl: {
      AuthorizationCode: 60,
      AccessToken: SECONDS(config.accessTokenTtlMs),
      ClientCredentials: SECONDS(config.accessTokenTtlMs),
      IdToken: 3600,
      RefreshToken: SECONDS(config.refreshTokenTtlMs),
      Interaction: 600,
      Session: SECONDS(config.sessionTtlMs),
      Grant: SECONDS(config.refreshTokenTtlMs),
    },
    // CORS only for an origin of one of the client's own redirect URIs (SPAs calling the token endpoint).
    clientBasedCORS: (_koa, origin, client) => client.redirectUris?.some((uri) => safeOrigin(uri) === origin) ?? false,
    renderError: async (koa, out) => {
      koa.type = 'html';
      koa.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head><body><h1>That did not work</h1><p>${escape(out.error)}: ${escape(out.error_description ?? '')}</p></body></html>`;
    },
  };
}

function safeOrigin(uri: string): string | null {
  try {
    return new URL(uri).origin;
  } catch {
    return null;
  }
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export class OidcProvider {
  private current: { fingerprint: string; provider: Provider; handle: (req: IncomingMessage, res: ServerResponse) => unknown } | null = null;
  private building: Promise<NonNullable<OidcProvider['current']>> | null = null;

  constructor(
    private readonly ctx: Context,
    private readonly deps: OidcDependencies,
  ) {}

  /** The provider for the ring as it is now; rebuilt (once, whoever asks) after a rotation or an activation. */
  async instance(): Promise<NonNullable<OidcProvider['current']>> {
    await this.ctx.keyRing.refreshIfOlderThan(this.ctx.config.keyRingRefreshMs);
    const fingerprint = keysFingerprint(this.ctx.keyRing);
    if (this.current?.fingerprint === fingerprint) return this.current;
    this.building ??= this.build().finally(() => {
      this.building = null;
    });
    return this.building;
  }

  async provider(): Promise<Provider> {
    return (await this.instance()).provider;
  }

  private async build(): Promise<NonNullable<OidcProvider['current']>> {
    const keys = await providerKeys(this.ctx.keyRing, this.deps.keyStore, this.ctx.config.secret);
    const provider = new Provider(this.ctx.config.publicUrl, configuration(this.ctx, this.deps, keys));
    // Behind TRUST_PROXY, the scheme comes from X-Forwarded-Proto (secure cookies, https URLs).
    provider.proxy = this.ctx.config.trustProxy !== false;
    // A rotation's successor gets an id derived from the presented token's: concurrent refreshes save one.
    deriveSuccessorIds(provider, refreshSuccessor(this.ctx));
    // The stored client_secret is SHA-256 of the real one: compare the presented secret's hash, in constant time.
    provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, actual: string) {
      return typeof this.clientSecret === 'string' && safeEqual(sha256(actual), this.clientSecret);
    };
    provider.on('server_error', (_koa, err) => this.ctx.log.error({ err }, 'oidc provider error'));
    provider.on('registration_create.success', (koa, client) => {
      const { ctx } = this;
      void recordEvent(ctx, 'oidc_client_created', { client: requestClients.get(koa.req) ?? null, detail: { clientId: client.clientId, via: 'registration' } });
    });
    // The client is signed in through this Gatehouse session: remembered in the provider session's entry for
    // the client (beside its sid and grantId), which the provider saves right after this synchronous event.
    // Back-channel logout reads it (backchannel.ts) to send a logout token for exactly this session's clients.
    provider.on('authorization.success', (koa) => {
      const session = gatehouseSessionOfRequest.get(koa);
      const clientId = koa.oidc.client?.clientId;
      if (!session || !clientId || koa.oidc.session?.accountId !== session.userId) return;
      koa.oidc.session.ensureClientContainer(clientId);
      (koa.oidc.session.authorizationFor(clientId) as GatehouseAuthorization)[GATEHOUSE_SESSION] = session.id;
    });
    // A path under /oauth2/ that is no endpoint (or one that is off, like /oauth2/register without
    // OIDC_REGISTRATION_TOKEN) answers 404 in the contract's format, as any unknown path of the server does,
    // rather than Koa's plain-text "Not Found".
    provider.use(async (koa, next) => {
      await next();
      if (koa.status === 404 && koa.body == null) {
        koa.status = 404;
        koa.body = { error: { code: 'not_found', message: koa.path === OAUTH2_ROUTES.registration ? 'Dynamic client registration is off on this server' : 'Not found' } };
      }
    });
    const onLogout = this.deps.onLogout;
    if (onLogout) {
      provider.use(async (koa, next) => {
        // The confirmation form of RP-initiated logout: ending the provider's session ends the Gatehouse one.
        if (koa.path === `${OAUTH2_ROUTES.end_session}/confirm` && koa.method === 'POST') {
          await next();
          if (koa.status < 400) await onLogout(koa as KoaContextWithOIDC);
          return;
        }
        await next();
      });
    }
    const built = { fingerprint: keys.fingerprint, provider, handle: provider.callback() };
    this.current = built;
    return built;
  }
}
