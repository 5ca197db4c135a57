// The signed-in user's own account: profile, password and sessions.
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { endOwnSession, listSessions } from '../../sessions/service.ts';
import { toPublicSession } from '../../sessions/store.ts';
import { changePassword, getUser, updateProfile } from '../../users/service.ts';
import { toPublicUser } from '../../users/store.ts';
import type { Guards } from '../plugins/auth.ts';
import { NameField, PasswordField, UserResponseSchema } from '../schemas.ts';
import { authOf, clientInfo, sessionOf, type App } from '../types.ts';

const SessionSchema = Type.Object({
  id: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Type.String(),
  expiresAt: Type.String(),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});

export function accountRoutes(app: App, ctx: Context, guards: Guards): void {
  const authenticated = { preHandler: guards.authenticate };
  const signedIn = { preHandler: guards.authenticateSession };

  app.get('/auth/me', { ...authenticated, schema: { response: { 200: UserResponseSchema } } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return { user: toPublicUser(await getUser(ctx, authOf(request).userId)) };
  });

  app.patch(
    '/auth/me',
    { ...authenticated, schema: { body: Type.Object({ name: Type.Optional(NameField) }), response: { 200: UserResponseSchema } } },
    async (request) => ({ user: toPublicUser(await updateProfile(ctx, authOf(request).userId, request.body)) }),
  );

  app.post(
    '/auth/password',
    { ...signedIn, schema: { body: Type.Object({ currentPassword: PasswordField, newPassword: PasswordField }) } },
    async (request, reply) => {
      const auth = sessionOf(request);
      await changePassword(ctx, auth.userId, auth.sessionId, request.body, clientInfo(request));
      reply.status(204).send();
    },
  );

  app.get('/auth/sessions', { ...signedIn, schema: { response: { 200: Type.Object({ sessions: Type.Array(SessionSchema) }) } } }, async (request, reply) => {
    const auth = sessionOf(request);
    reply.header('cache-control', 'no-store');
    return { sessions: (await listSessions(ctx, auth.userId)).map((s) => toPublicSession(s, auth.sessionId)) };
  });

  app.delete(
    '/auth/sessions/:id',
    { ...signedIn, schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } },
    async (request, reply) => {
      await endOwnSession(ctx, authOf(request).userId, request.params.id, clientInfo(request));
      reply.status(204).send();
    },
  );
}
