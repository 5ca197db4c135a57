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
    return {
      issuer: base,
      jwks_uri: `${base}/.well-known/jwks.json`,
      introspection_endpoint: `${base}/auth/introspect`,
      revocation_endpoint: `${base}/auth/logout`,
      token_endpoint: `${base}/auth/refresh`,
      grant_types_supported: ['password', 'refresh_token'],
      response_types_supported: [],
      subject_types_supported: ['public'],
      token_endpoint_auth_methods_supported: ['none'],
      id_token_signing_alg_values_supported: [ctx.config.jwtAlg],
      access_token_signing_alg_values_supported: ctx.keyRing.algorithms(),
      claims_supported: ['iss', 'aud', 'sub', 'sid', 'jti', 'role', 'iat', 'exp'],
    };
  });
}
