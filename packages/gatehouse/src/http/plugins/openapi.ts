// OpenAPI 3.1 generated from the route schemas, at /openapi.json and browsable at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { sessionCookieName } from '../cookies.ts';
import type { App } from '../types.ts';

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    }),
  },
  { $id: 'ErrorBody', description: 'Every error, whatever the route' },
);

const routeTables = new WeakMap<object, Array<{ method: string; url: string }>>();

/** Every route the app registered (but the docs UI's own): what the OpenAPI document must cover. */
export function registeredRoutes(app: App): Array<{ method: string; url: string }> {
  return routeTables.get(app) ?? [];
}

/** Registers the generator before any route, so every route (and its error responses) is in the document. */
export async function registerOpenApi(app: App, ctx: Context): Promise<void> {
  const table: Array<{ method: string; url: string }> = [];
  routeTables.set(app, table);
  // Every route answers errors in the contract's shape; declaring it also documents it.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) return;
    for (const method of [route.method].flat()) if (method !== 'HEAD') table.push({ method, url: route.url });
    const schema = (route.schema ??= {});
    schema.response = { '4xx': ErrorSchema, '5xx': ErrorSchema, ...(schema.response as object | undefined) };
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `${ctx.config.brandName} API`, version: '1', description: 'Gatehouse authentication server' },
      servers: [{ url: ctx.config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token or an API key' },
          session: { type: 'apiKey', in: 'cookie', name: sessionCookieName(ctx.config) },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } as object }, async () => app.swagger());
}
