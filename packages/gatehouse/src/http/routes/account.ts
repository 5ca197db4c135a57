// The signed-in user's own account: profile, password and sessions.
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { endOwnSession, listSessions } from '../../sessions/service.ts';
import { toPublicSession } from '../../sessions/store.ts';
import { changePassword, getUser, updateProfile } from '../../users/service.ts';
import { toPublicUser } from '../../users/store.ts';
import type { Guards } from '../plugins/auth.ts';
import { NoContent, errors } from '../responses.ts';
import { DateTime, NameField, NewPasswordField, PasswordField, UserResponseSchema } from '../schemas.ts';
import { authOf, clientInfo, sessionOf, type App } from '../types.ts';

const SessionSchema = Type.Object({
  id: Type.String(),
  createdAt: DateTime,
  lastUsedAt: DateTime,
  expiresAt: DateTime,
  userAgent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});

export function accountRoutes(app: App, ctx: Context, guards: Guards): void {
  const authenticated = { preHandler: guards.authenticate };
  const signedIn = { preHandler: guards.authenticateSession };

  // 401 without a live credential; 403 for what an API key may not do, or a cookie write without its CSRF token.
  app.get('/auth/me', { ...authenticated, config: { allowWithoutMfa: true }, schema: { response: { 200: UserResponseSchema, ...errors(401) } } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return { user: toPublicUser(await getUser(ctx, authOf(request).userId)) };
  });

  app.patch(
    '/auth/me',
    { ...authenticated, schema: { body: Type.Object({ name: Type.Optional(NameField) }), response: { 200: UserResponseSchema, ...errors(401, 403) } } },
    async (request) => ({ user: toPublicUser(await updateProfile(ctx, authOf(request).userId, request.body)) }),
  );

  app.post(
    '/auth/password',
    { preHandler: guards.recentSignIn, schema: { body: Type.Object({ currentPassword: PasswordField, newPassword: NewPasswordField }), response: { 204: NoContent, ...errors(401, 403) } } },
    async (request, reply) => {
      const auth = sessionOf(request);
      await changePassword(ctx, auth.userId, auth.sessionId, request.body, clientInfo(request));
      reply.status(204).send();
    },
  );

  app.get('/auth/sessions', { ...signedIn, schema: { response: { 200: Type.Object({ sessions: Type.Array(SessionSchema) }), ...errors(401, 403) } } }, async (request, reply) => {
    const auth = sessionOf(request);
    reply.header('cache-control', 'no-store');
    return { sessions: (await listSessions(ctx, auth.userId)).map((s) => toPublicSession(s, auth.sessionId)) };
  });

  app.delete(
    '/auth/sessions/:id',
    { ...signedIn, schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 204: NoContent, ...errors(401, 403, 404) } } },
    async (request, reply) => {
      await endOwnSession(ctx, authOf(request).userId, request.params.id, clientInfo(request));
      reply.status(204).send();
    },
  );
}
