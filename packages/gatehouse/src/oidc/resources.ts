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
import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Context } from '../context.ts';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

/** The OpenID scopes: never a resource's. */
export const OIDC_SCOPES = new Set(['openid', 'offline_access', 'email', 'profile']);

/** A scope value an API may define (RFC 6749 §3.3 scope-token, kept to a readable subset). */
const SCOPE_TOKEN = /^[A-Za-z0-9][A-Za-z0-9:._/-]{0,63}$/;

function requestedScopes(koa: KoaContextWithOIDC): string[] {
  const raw = koa.oidc.params?.scope;
  return typeof raw === 'string' ? raw.split(' ').filter(Boolean) : [];
}

export function resourceIndicators(ctx: Context, alg: string): ResourceIndicators {
  const issuer = ctx.config.publicUrl;
  const ttl = Math.max(1, Math.floor(ctx.config.accessTokenTtlMs / 1000));
  return {
    enabled: true,
    // No resource asked: openid requests keep the userinfo token; everything else is for the issuer.
    defaultResource: async (koa, _client, oneOf) => {
      if (oneOf) return oneOf;
      return requestedScopes(koa).includes('openid') ? undefined : issuer;
    },
    useGrantedResource: async () => false,
    getResourceServerInfo: async (koa, indicator) => {
      const url = new URL(indicator);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new errors.InvalidTarget('the resource must be an http(s) URI');
      // The API's scopes are whatever the client asks for, besides the OpenID ones (the user consents to them
      // on the consent page); at the token endpoint, what the grant already holds for this resource.
      const scopes = new Set(requestedScopes(koa).filter((s) => !OIDC_SCOPES.has(s) && SCOPE_TOKEN.test(s)));
      const granted = koa.oidc.entities.Grant?.getResourceScope(indicator);
      for (const s of granted ? granted.split(' ') : []) if (s && !OIDC_SCOPES.has(s)) scopes.add(s);
      return { scope: [...scopes].join(' '), audience: indicator, accessTokenTTL: ttl, accessTokenFormat: 'jwt', jwt: { sign: { alg: alg as 'RS256' } } };
    },
  };
}
