import { Type, type Static } from 'typebox';
import type { Context } from '../../context.ts';
import type { App } from '../types.ts';

// RFC 7517 §5: public keys only; RSA keys carry n and e, EC and OKP keys crv and x (and EC y).
const JwkSchema = Type.Object({
  kty: Type.Union([Type.Literal('RSA'), Type.Literal('EC'), Type.Literal('OKP')]),
  kid: Type.String({ description: 'The RFC 7638 thumbprint' }),
  alg: Type.String(),
  use: Type.Literal('sig'),
  n: Type.Optional(Type.String()),
  e: Type.Optional(Type.String()),
  crv: Type.Optional(Type.String()),
  x: Type.Optional(Type.String()),
  y: Type.Optional(Type.String()),
});
const JwksSchema = Type.Object({ keys: Type.Array(JwkSchema) }, { description: 'The public signing keys (none with HS256)' });

// RFC 8414 §2 / OpenID Connect Discovery 1.0 §3: only what exists and works as advertised.
const DiscoverySchema = Type.Object(
  {
    issuer: Type.String({ format: 'uri' }),
    jwks_uri: Type.String({ format: 'uri' }),
    introspection_endpoint: Type.String({ format: 'uri' }),
    introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
    access_token_signing_alg_values_supported: Type.Array(Type.String()),
    claims_supported: Type.Array(Type.String()),
  },
  { description: 'Authorization server metadata' },
);

export function wellKnownRoutes(app: App, ctx: Context): void {
  app.get('/.well-known/jwks.json', { schema: { response: { 200: JwksSchema } } }, async (_request, reply) => {
    // Fresh from the database (within a second) on every instance: a verifier that meets a new kid and refetches
    // gets the new key whichever instance answers, well before that key starts signing (KEY_ACTIVATION_DELAY).
    await ctx.keyRing.refreshIfOlderThan(1000);
    // Short enough that a rotation reaches verifiers well within an access token's lifetime.
    reply.header('cache-control', 'public, max-age=300, must-revalidate');
    // jose's JWK type leaves every member optional; the ring publishes only keys it made, with kid, alg and use.
    return ctx.keyRing.jwks() as Static<typeof JwksSchema>;
  });

  // With the OpenID provider on, the provider's own metadata is served instead (routes/oauth2.ts).
  if (!ctx.config.oidcProvider) app.get('/.well-known/openid-configuration', { schema: { response: { 200: DiscoverySchema } } }, async (_request, reply) => {
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
