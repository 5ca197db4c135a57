import type { Context } from '../../context.ts';
import type { App } from '../types.ts';

export function wellKnownRoutes(app: App, ctx: Context): void {
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    // Fresh from the database (within a second) on every instance: a verifier that meets a new kid and refetches
    // gets the new key whichever instance answers, well before that key starts signing (KEY_ACTIVATION_DELAY).
    await ctx.keyRing.refreshIfOlderThan(1000);
    // Short enough that a rotation reaches verifiers well within an access token's lifetime.
    reply.header('cache-control', 'public, max-age=300, must-revalidate');
    return ctx.keyRing.jwks();
  });

  app.get('/.well-known/openid-configuration', async (_request, reply) => {
    const base = ctx.config.publicUrl;
    reply.header('cache-control', 'public, max-age=3600');
    // Only what exists and works as advertised (RFC 8414 §2): the issuer, its keys and RFC 7662 introspection.
    // /auth/refresh and /auth/logout are not OAuth's token and revocation endpoints (JSON, no grant types,
    // no client authentication), and there are no ID tokens until the OpenID provider is on.
    return {
      issuer: base,
      jwks_uri: `${base}/.well-known/jwks.json`,
      introspection_endpoint: `${base}/auth/introspect`,
      introspection_endpoint_auth_methods_supported: ['bearer'],
      access_token_signing_alg_values_supported: ctx.keyRing.algorithms(),
      claims_supported: ['iss', 'aud', 'sub', 'sid', 'jti', 'role', 'amr', 'iat', 'exp'],
    };
  });
}
