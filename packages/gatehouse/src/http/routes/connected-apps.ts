// GET /auth/apps and DELETE /auth/apps/:clientId: the apps a user let sign in with Gatehouse (CONTRACT, OpenID
// provider). Signed in (a session, not an API key), as the sessions list is.
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { listConnectedApps, revokeConnectedApp, type ConnectedAppsDeps } from '../../oidc/connected-apps.ts';
import type { Guards } from '../plugins/auth.ts';
import { NoContent, errors } from '../responses.ts';
import { DateTime } from '../schemas.ts';
import { clientInfo, sessionOf, type App } from '../types.ts';

const ConnectedAppSchema = Type.Object(
  {
    clientId: Type.String(),
    name: Type.String(),
    scopes: Type.Array(Type.String(), { description: 'Everything granted: OpenID scopes and API scopes' }),
    grantedAt: DateTime,
  },
  { title: 'ConnectedApp' },
);

export function connectedAppRoutes(app: App, ctx: Context, guards: Guards, deps: ConnectedAppsDeps): void {
  const signedIn = { preHandler: guards.authenticateSession };

  app.get('/auth/apps', { ...signedIn, schema: { response: { 200: Type.Object({ apps: Type.Array(ConnectedAppSchema) }), ...errors(401, 403) } } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return { apps: await listConnectedApps(ctx, deps, sessionOf(request).userId) };
  });

  app.delete(
    '/auth/apps/:clientId',
    { ...signedIn, schema: { params: Type.Object({ clientId: Type.String({ minLength: 1, maxLength: 128 }) }), response: { 204: NoContent, ...errors(401, 403, 404) } } },
    async (request, reply) => {
      await revokeConnectedApp(ctx, deps, sessionOf(request), request.params.clientId, clientInfo(request));
      reply.status(204).send();
    },
  );
}
