// /admin/clients: the applications that sign in with Gatehouse (the OpenID provider's clients). Reading needs the
// admin role; every change needs an admin signed in within REAUTH_MAX_AGE. A secret is answered once, at
// creation or rotation, and kept only as SHA-256.
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { recordEvent } from '../../audit/service.ts';
import type { Context } from '../../context.ts';
import { clientDepsOf, createClient, deleteClient, rotateClientSecret, toPublicClient, updateClient, type ClientDeps } from '../../oidc/clients.ts';
import type { Guards } from '../plugins/auth.ts';
import { NoContent, errors } from '../responses.ts';
import { authOf, clientInfo, type App } from '../types.ts';

const Uri = Type.String({ minLength: 1, maxLength: 2048 });
const Resources = Type.Array(Uri, { maxItems: 50, description: 'Replaces the list of resource indicators (absolute http(s) URIs) the client may ask tokens for' });
const Scopes = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50, description: 'Replaces the list of API scopes the client may ask for' });
const Grant = Type.Union([Type.Literal('authorization_code'), Type.Literal('refresh_token'), Type.Literal('client_credentials')]);

const ClientSchema = Type.Object({
  clientId: Type.String(),
  name: Type.String(),
  public: Type.Boolean({ description: 'No secret: PKCE only (SPAs, native apps)' }),
  firstParty: Type.Boolean({ description: 'Skips the consent page' }),
  redirectUris: Type.Array(Type.String()),
  postLogoutRedirectUris: Type.Array(Type.String()),
  grantTypes: Type.Array(Type.String()),
  backchannelLogoutUri: Type.Union([Type.String(), Type.Null()]),
  resources: Type.Array(Type.String(), { description: 'The resource indicators (RFC 8707) it may ask tokens for, besides the issuer' }),
  scopes: Type.Array(Type.String(), { description: 'The API scopes it may ask for (the OpenID scopes need no listing)' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const ClientWithSecret = Type.Object({
  client: ClientSchema,
  clientSecret: Type.Union([Type.String(), Type.Null()], { description: 'Shown once; null for a public client' }),
});
const ClientIdParams = Type.Object({ clientId: Type.String({ maxLength: 64 }) });

export function oidcClientRoutes(app: App, ctx: Context, guards: Guards, deps: ClientDeps): void {
  // The admin page (pages/admin-clients.ts) works on the same store.
  clientDepsOf.set(ctx, deps);
  const adminOnly = { preHandler: guards.requireRole('admin') };
  const adminChange = { preHandler: guards.requireRoleWithRecentSignIn('admin') };
  const audit = (request: FastifyRequest, type: 'oidc_client_created' | 'oidc_client_updated' | 'oidc_client_deleted', clientId: string) =>
    recordEvent(ctx, type, { userId: authOf(request).userId, sessionId: authOf(request).sessionId, client: clientInfo(request), detail: { clientId } });

  app.get('/admin/clients', { ...adminOnly, schema: { response: { 200: Type.Object({ clients: Type.Array(ClientSchema) }), ...errors(401, 403) } } }, async () => ({
    clients: (await deps.clients.list()).map(toPublicClient),
  }));

  app.post(
    '/admin/clients',
    {
      ...adminChange,
      schema: {
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100 }),
            redirectUris: Type.Optional(Type.Array(Uri, { maxItems: 20 })),
            postLogoutRedirectUris: Type.Optional(Type.Array(Uri, { maxItems: 20 })),
            public: Type.Optional(Type.Boolean()),
            firstParty: Type.Optional(Type.Boolean()),
            grants: Type.Optional(Type.Array(Grant, { maxItems: 3 })),
            backchannelLogoutUri: Type.Optional(Uri),
            resources: Type.Optional(Resources),
            scopes: Type.Optional(Scopes),
          },
          { additionalProperties: false },
        ),
        response: { 201: ClientWithSecret, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { client, secret } = await createClient(deps, { ...request.body, redirectUris: request.body.redirectUris ?? [] });
      await audit(request, 'oidc_client_created', client.clientId);
      return reply.status(201).send({ client: toPublicClient(client), clientSecret: secret });
    },
  );

  app.patch(
    '/admin/clients/:clientId',
    {
      ...adminChange,
      schema: {
        params: ClientIdParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            redirectUris: Type.Optional(Type.Array(Uri, { maxItems: 20 })),
            postLogoutRedirectUris: Type.Optional(Type.Array(Uri, { maxItems: 20 })),
            firstParty: Type.Optional(Type.Boolean()),
            grants: Type.Optional(Type.Array(Grant, { maxItems: 3 })),
            backchannelLogoutUri: Type.Optional(Type.Union([Uri, Type.Null()])),
            resources: Type.Optional(Resources),
            scopes: Type.Optional(Scopes),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ client: ClientSchema }), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const client = await updateClient(deps, request.params.clientId, request.body);
      await audit(request, 'oidc_client_updated', client.clientId);
      return { client: toPublicClient(client) };
    },
  );

  app.post(
    '/admin/clients/:clientId/secret',
    { ...adminChange, schema: { params: ClientIdParams, response: { 200: ClientWithSecret, ...errors(401, 403, 404) } } },
    async (request) => {
      const { client, secret } = await rotateClientSecret(deps, request.params.clientId);
      await audit(request, 'oidc_client_updated', client.clientId);
      return { client: toPublicClient(client), clientSecret: secret };
    },
  );

  app.delete('/admin/clients/:clientId', { ...adminChange, schema: { params: ClientIdParams, response: { 204: NoContent, ...errors(401, 403, 404) } } }, async (request, reply) => {
    await deleteClient(deps, request.params.clientId);
    await audit(request, 'oidc_client_deleted', request.params.clientId);
    reply.status(204).send();
  });
}
