// API keys (for the signed-in person, never for a key) and token introspection.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createApiKey, listApiKeys, mayIntrospect, revokeApiKey } from '../../api-keys/service.ts';
import { toPublicApiKey } from '../../api-keys/store.ts';
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { introspect } from '../../sessions/introspect.ts';
import type { Guards } from '../plugins/auth.ts';
import { authOf, clientInfo, sessionOf, type App } from '../types.ts';

const ApiKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
});

export function apiKeyRoutes(app: App, ctx: Context, guards: Guards): void {
  const signedIn = { preHandler: guards.authenticateSession };

  app.get('/auth/api-keys', { ...signedIn, schema: { response: { 200: Type.Object({ apiKeys: Type.Array(ApiKeySchema) }) } } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return { apiKeys: (await listApiKeys(ctx, sessionOf(request).userId)).map(toPublicApiKey) };
  });

  app.post(
    '/auth/api-keys',
    {
      ...signedIn,
      schema: {
        body: Type.Object({
          name: Type.String({ maxLength: 1000 }),
          scopes: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100 })),
          expiresAt: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: { 201: Type.Intersect([ApiKeySchema, Type.Object({ key: Type.String() })]) },
      },
    },
    async (request, reply) => {
      const { key, secret } = await createApiKey(ctx, sessionOf(request), request.body, clientInfo(request));
      reply.status(201).header('cache-control', 'no-store');
      // The only time the key is ever shown.
      return { ...toPublicApiKey(key), key: secret };
    },
  );

  app.delete('/auth/api-keys/:id', { ...signedIn, schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } }, async (request, reply) => {
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
        schema: { body: Type.Object({ token: Type.String({ maxLength: 8192 }), token_type_hint: Type.Optional(Type.String({ maxLength: 64 })) }) },
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
