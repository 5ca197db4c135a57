// API keys (for the signed-in person, never for a key) and token introspection.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createApiKey, listApiKeys, mayIntrospect, revokeApiKey } from '../../api-keys/service.ts';
import { toPublicApiKey } from '../../api-keys/store.ts';
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { introspect } from '../../sessions/introspect.ts';
import type { Guards } from '../plugins/auth.ts';
import { NoContent, errors } from '../responses.ts';
import { DateTime } from '../schemas.ts';
import { authOf, clientInfo, sessionOf, type App } from '../types.ts';
import { documented } from '../documented.ts';

const ApiKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: DateTime,
  lastUsedAt: Type.Union([DateTime, Type.Null()]),
  expiresAt: Type.Union([DateTime, Type.Null()]),
});

// RFC 7662 §2.2. Inactive, expired, revoked and forged tokens all get `{ active: false }` and nothing else.
const IntrospectionSchema = Type.Union(
  [
    Type.Object({ active: Type.Literal(false) }),
    Type.Object({
      active: Type.Literal(true),
      token_type: Type.Literal('access_token'),
      sub: Type.String(),
      sid: Type.String(),
      role: Type.String(),
      amr: Type.Array(Type.String(), { description: 'RFC 8176 methods the session was signed in with' }),
      jti: Type.String(),
      iat: Type.Integer(),
      exp: Type.Integer(),
      iss: Type.String(),
      aud: Type.String(),
    }),
    Type.Object({
      active: Type.Literal(true),
      token_type: Type.Literal('api_key'),
      sub: Type.String(),
      role: Type.String(),
      scope: Type.String({ description: 'Space-separated' }),
      exp: Type.Optional(Type.Integer()),
      iat: Type.Integer(),
      key_id: Type.String(),
    }),
  ],
  { description: 'RFC 7662 introspection response' },
);

// 401 without a live credential; 403 for an API key (keys are managed by a signed-in person), or a cookie
// write without its CSRF token.
const signedInErrors = errors(401, 403);

export function apiKeyRoutes(app: App, ctx: Context, guards: Guards): void {
  const signedIn = { preHandler: guards.authenticateSession };

  app.get('/auth/api-keys', { ...signedIn, schema: { response: { 200: Type.Object({ apiKeys: Type.Array(ApiKeySchema) }), ...signedInErrors } } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return { apiKeys: (await listApiKeys(ctx, sessionOf(request).userId)).map(toPublicApiKey) };
  });

  app.post(
    '/auth/api-keys',
    {
      // A key outlives the session that made it: creating one needs a recent sign-in.
      preHandler: guards.recentSignIn,
      schema: {
        body: Type.Object({
          name: documented(Type.String({ maxLength: 1000 }), { minLength: 1, maxLength: 100, description: 'Trimmed; 1 to 100 characters after trimming' }),
          scopes: Type.Optional(
            documented(Type.Array(documented(Type.String({ maxLength: 100 }), { pattern: '^[a-z][a-z0-9:._-]{0,39}$' }), { maxItems: 100 }), {
              maxItems: 20,
              uniqueItems: true,
              description: 'Up to 20 lower-case names; introspect only for an admin',
            }),
          ),
          expiresAt: Type.Optional(documented(Type.String({ maxLength: 64 }), { format: 'date-time', description: 'A date-time in the future; none, the key never expires' })),
        }),
        // 409: the caller already has as many live keys as allowed.
        response: { 201: Type.Intersect([ApiKeySchema, Type.Object({ key: Type.String({ description: 'Shown once, never again' }) })]), ...signedInErrors, ...errors(409) },
      },
    },
    async (request, reply) => {
      const { key, secret } = await createApiKey(ctx, sessionOf(request), request.body, clientInfo(request));
      reply.status(201).header('cache-control', 'no-store');
      // The only time the key is ever shown.
      return { ...toPublicApiKey(key), key: secret };
    },
  );

  app.delete('/auth/api-keys/:id', { ...signedIn, schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 204: NoContent, ...signedInErrors, ...errors(404) } } }, async (request, reply) => {
    await revokeApiKey(ctx, sessionOf(request).userId, request.params.id, clientInfo(request));
    reply.status(204).send();
  });

  // RFC 7662 sends `token=` form-encoded; JSON is accepted too.
  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body.toString())));
    });
    scope.withTypeProvider<TypeBoxTypeProvider>().post(
      '/auth/introspect',
      {
        preHandler: guards.authenticate,
        schema: {
          body: Type.Object({ token: Type.String({ maxLength: 8192 }), token_type_hint: Type.Optional(Type.String({ maxLength: 64 })) }),
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          // 403: neither an admin nor an admin's API key with scope introspect.
          response: { 200: IntrospectionSchema, ...errors(401, 403) },
        },
      },
      async (request, reply) => {
        const auth = authOf(request);
        if (!mayIntrospect(auth)) {
          throw new AppError('forbidden', { message: "Introspection needs an admin, or an admin's API key with scope introspect" });
        }
        reply.header('cache-control', 'no-store');
        return introspect(ctx, request.body.token);
      },
    );
  });
}
