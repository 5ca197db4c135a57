// OpenAPI 3.1 generated from the route schemas, at /openapi.json and browsable at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifySchema, RouteOptions } from 'fastify';
import type { TSchema } from 'typebox';
import type { Context } from '../../context.ts';
import { sessionCookieName } from '../cookies.ts';
import { documentedSchema } from '../documented.ts';
import { ErrorResponse, errorResponse, htmlError } from '../responses.ts';
import type { App } from '../types.ts';

/** @deprecated The contract's error body; routes declare theirs with `errors(...)` from responses.ts. */
export const ErrorSchema = ErrorResponse;

/**
 * What a hosted page takes, for the document only: the pages read their form fields and query themselves
 * (formField, queryField), with their own messages and limits, so Fastify must not validate them.
 */
export interface PageInput {
  form?: TSchema;
  query?: TSchema;
}

/** A hosted page's schema: its answers as text/html and, in the document only, the form and query it reads. */
export function pageSchema(response: Record<number, TSchema>, input: PageInput = {}): FastifySchema {
  return { produces: ['text/html'], response, pageInput: input } as FastifySchema;
}

// Answers that belong to no operation, documented once here.
const DESCRIPTION = `Gatehouse authentication server.

Every error is the ErrorResponse body (components.schemas.ErrorResponse) with the status of its code. Besides the
statuses listed for each operation, any request may be answered before it reaches one: 400 validation_failed
(malformed HTTP, a malformed URL), 408 request_timeout, 431 headers_too_large, 404 not_found for a path that is
not listed here and 405 method_not_allowed (with Allow) for a listed path with another method; such a request may
also be refused as any operation's request is (400, 413, 415, 429, 503).

OpenID provider (OIDC_PROVIDER=true): the endpoints under /oauth2/ are served by oidc-provider itself and speak
OAuth's formats, not this API's (form-encoded requests, { error, error_description } errors), so they are not
operations of this document; /.well-known/openid-configuration lists them. GET /oauth2/authorize (authorization
code + PKCE S256), POST /oauth2/token (authorization_code, refresh_token, client_credentials; client_secret_basic,
client_secret_post or none), GET|POST /oauth2/userinfo, POST /oauth2/revoke (RFC 7009), POST /oauth2/introspect
(RFC 7662), GET|POST /oauth2/logout (RP-initiated logout). GET /oauth2/interaction/{uid} and its consent form are
Gatehouse pages and are documented below.`;

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * What any route may answer whatever it does: 400 (a missing or second Host header, a malformed URL), 429 (the
 * per-IP limit), 500 and 503 (a database or Redis outage); with a body also 400 invalid_json, 413 and 415.
 */
function commonStatuses(route: RouteOptions): number[] {
  const statuses = [400, 429, 500, 503];
  if ([route.method].flat().some((method) => BODY_METHODS.has(method))) statuses.push(413, 415);
  return statuses;
}

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
    // The docs UI, and oidc-provider's endpoints, which speak OAuth's formats (documented in DESCRIPTION).
    if (route.url.startsWith('/docs') || route.url === '/oauth2/*') return;
    for (const method of [route.method].flat()) if (method !== 'HEAD') table.push({ method, url: route.url });
    const schema = (route.schema ??= {}) as FastifySchema & { produces?: string[] };
    // The pages answer their errors as pages (their scope's error handler); everything else as JSON.
    const html = schema.produces?.includes('text/html') ?? false;
    const common = Object.fromEntries(commonStatuses(route).map((status) => [status, html ? htmlError(status) : errorResponse(status)]));
    schema.response = { ...common, ...(schema.response as object | undefined) };
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `${ctx.config.brandName} API`, version: '1', description: DESCRIPTION },
      servers: [{ url: ctx.config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token or an API key' },
          session: { type: 'apiKey', in: 'cookie', name: sessionCookieName(ctx.config) },
        },
        schemas: { ErrorResponse: ErrorResponse as object },
      },
    },
    // Constraints the domain policy enforces go into the document here (documented.ts), and a page's form
    // and query become its request body and parameters.
    transform: ({ schema, url }) => {
      if (!schema) return { schema, url };
      const { pageInput, ...rest } = documentedSchema(schema as FastifySchema & { pageInput?: PageInput }, ctx.config);
      if (!pageInput) return { schema: rest, url };
      return {
        schema: {
          ...rest,
          ...(pageInput.form ? { body: pageInput.form, consumes: ['application/x-www-form-urlencoded'] } : {}),
          ...(pageInput.query ? { querystring: pageInput.query } : {}),
        },
        url,
      };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } as object }, async () => app.swagger());
}
