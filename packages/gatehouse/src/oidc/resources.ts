// Resource indicators (RFC 8707): which API an access token is for. A client that names a `resource` gets a
// JWT access token (RFC 9068, typ at+jwt, signed by the key ring) with aud = that resource, client_id, scope
// and sub (the user, or the client itself under client_credentials), which the API checks with
// @gatehouse/verify's client-token mode and requireScope().
//
// Without a resource, the default depends on the request, because oidc-provider's userinfo refuses any token
// with an audience ("token audience prevents accessing the userinfo endpoint"):
// - a request with the `openid` scope gets oidc-provider's opaque token, usable at /oauth2/userinfo (what an
//   OpenID relying party needs); to get the JWT for an API as well, it sends `resource` at the token endpoint
//   (the code exchange or a refresh), which RFC 8707 §2.2 allows and which oidc-provider resolves against what
//   the grant holds (`useGrantedResource` stays false, so a code asked with a resource still yields the
//   userinfo token when the exchange names none);
// - any other request (client_credentials, or OAuth without openid) gets a JWT with aud = the issuer.
// Gatehouse's own /auth/* and /admin/* never accept these tokens: they carry client_id and neither sid nor
// role (verify-signed-token.ts refuses them).
//
// What a client may ask is an allow-list kept with the client (clients.ts: `allowed_resources`,
// `allowed_scopes`, set by `gatehouse clients create --resource … --scope …` or /admin/clients, given to
// oidc-provider as extra client metadata): any other resource is invalid_target, any other scope that is not
// an OpenID one invalid_scope, at the authorization and at the token endpoint (client_credentials, a code
// exchange or a refresh naming a resource). The issuer, the default audience, needs no listing, but its scopes
// are the listed ones too. A client with no lists gets no API token at all, so a client cannot get a token for
// another client's API. A scope or resource taken off the list stops being issued at the next token, even
// from a grant that holds it.
import { errors, type Client, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Context } from '../context.ts';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

/**
 * The OpenID scopes: never a resource's, and never refused by the allow-list. Besides the four this provider
 * serves, OpenID Connect Core §5.4's `address` and `phone`, which it does not serve: as Core §3.1.2.1 asks, a
 * request naming them is not refused, they are ignored.
 */
export const OIDC_SCOPES = new Set(['openid', 'offline_access', 'email', 'profile', 'address', 'phone']);

/** A scope value an API may define (RFC 6749 §3.3 scope-token, kept to a readable subset). */
export const SCOPE_TOKEN = /^[A-Za-z0-9][A-Za-z0-9:._/-]{0,63}$/;

/** The client metadata that carry the allow-lists (see store.ts ClientMetadata). */
export const ALLOW_LIST_METADATA = ['allowed_resources', 'allowed_scopes'] as const;

function requestedScopes(koa: KoaContextWithOIDC): string[] {
  const raw = koa.oidc.params?.scope;
  return typeof raw === 'string' ? raw.split(' ').filter(Boolean) : [];
}

function listOf(client: Client | undefined, key: (typeof ALLOW_LIST_METADATA)[number]): string[] {
  const value = (client as unknown as Record<string, unknown> | undefined)?.[key];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Compares resource indicators as URLs (`https://api.example` and `https://api.example/` are one API). */
function sameResource(a: string, b: string): boolean {
  return a === b || (hrefOf(a) !== null && hrefOf(a) === hrefOf(b));
}

function hrefOf(uri: string): string | null {
  try {
    return new URL(uri).href;
  } catch {
    return null;
  }
}

/** The issuer (the default audience) always; any other resource only when the client lists it. */
function resourceAllowed(client: Client | undefined, indicator: string, issuer: string): boolean {
  return sameResource(indicator, issuer) || listOf(client, 'allowed_resources').some((allowed) => sameResource(allowed, indicator));
}

/**
 * A refresh naming a resource, checked before oidc-provider rotates the refresh token (its `rotateRefreshToken`
 * hook runs just before the rotation; the resource is resolved after it): an unlisted resource, or one the grant
 * does not hold, is invalid_target and leaves the presented refresh token usable. Checked only after the
 * rotation, the refused request would have spent the token, and the client's next refresh with it would be
 * taken for a replay that revokes the grant.
 */
export function refuseRefreshTarget(koa: KoaContextWithOIDC, issuer: string): void {
  const raw = koa.oidc.params?.resource;
  if (raw === undefined) return;
  const token = koa.oidc.entities.RefreshToken as unknown as { resourceIndicators?: Set<unknown> } | undefined;
  for (const indicator of Array.isArray(raw) ? raw : [raw]) {
    if (typeof indicator !== 'string') continue;
    if (!resourceAllowed(koa.oidc.client, indicator, issuer)) throw new errors.InvalidTarget('this client may not ask for a token for this resource');
    if (token?.resourceIndicators && !token.resourceIndicators.has(indicator)) throw new errors.InvalidTarget('the grant does not hold this resource');
  }
}

/** invalid_scope for the first requested API scope the client is not allowed; the OpenID scopes always pass. */
function refuseUnlistedScopes(koa: KoaContextWithOIDC, client: Client | undefined): string[] {
  const allowed = new Set(listOf(client, 'allowed_scopes'));
  const asked = requestedScopes(koa).filter((s) => !OIDC_SCOPES.has(s));
  const refused = asked.find((s) => !allowed.has(s));
  if (refused !== undefined) throw new errors.InvalidScope('requested scope is not allowed for this client', refused);
  return asked;
}

/** A stored allow-list, as oidc-provider reads client metadata: an array of strings (registration.ts). */
export function checkAllowListValue(key: string, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new errors.InvalidClientMetadata(`${key} must be an array of strings`);
}

export function resourceIndicators(ctx: Context, alg: string): ResourceIndicators {
  const issuer = ctx.config.publicUrl;
  const ttl = Math.max(1, Math.floor(ctx.config.accessTokenTtlMs / 1000));
  return {
    enabled: true,
    // No resource asked: openid requests keep the userinfo token; everything else is for the issuer. The
    // scopes are checked here too, so an unlisted API scope is refused even when no resource is named.
    defaultResource: async (koa, client, oneOf) => {
      if (oneOf) return oneOf;
      refuseUnlistedScopes(koa, client);
      return requestedScopes(koa).includes('openid') ? undefined : issuer;
    },
    useGrantedResource: async () => false,
    getResourceServerInfo: async (koa, indicator, client) => {
      const url = new URL(indicator);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new errors.InvalidTarget('the resource must be an http(s) URI');
      if (!resourceAllowed(client, indicator, issuer)) {
        throw new errors.InvalidTarget('this client may not ask for a token for this resource');
      }
      // The API's scopes: what the client asks for (besides the OpenID ones) out of its allowed ones, the user
      // consenting to them on the consent page; at the token endpoint, what the grant already holds for this
      // resource and is still allowed.
      const allowed = new Set(listOf(client, 'allowed_scopes'));
      const scopes = new Set(refuseUnlistedScopes(koa, client));
      const granted = koa.oidc.entities.Grant?.getResourceScope(indicator);
      for (const s of granted ? granted.split(' ') : []) if (allowed.has(s)) scopes.add(s);
      return { scope: [...scopes].join(' '), audience: indicator, accessTokenTTL: ttl, accessTokenFormat: 'jwt', jwt: { sign: { alg: alg as 'RS256' } } };
    },
  };
}
