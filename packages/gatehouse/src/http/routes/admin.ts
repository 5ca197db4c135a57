// The admin users API, for role admin only.
import { Type } from 'typebox';
import { inviteUser, resendVerificationFor } from '../../admin/invite.ts';
import { deleteUser, getUserById, listUsers, patchUser } from '../../admin/service.ts';
import { endUserSession, listUserSessions, signOutUser } from '../../admin/user-sessions.ts';
import { toPublicSession } from '../../sessions/store.ts';
import { removeAllFactors } from '../../factors/service.ts';
import type { Context } from '../../context.ts';
import { toAdminUser } from '../../users/store.ts';
import type { Guards } from '../plugins/auth.ts';
import { NoContent, errors } from '../responses.ts';
import { AdminUserResponseSchema, AdminUserSchema, CursorField, EmailField, LocaleField, NameField, RoleField, SessionSchema } from '../schemas.ts';
import { authOf, clientInfo, type App } from '../types.ts';
import type { FastifyRequest } from 'fastify';

const actorOf = (request: FastifyRequest) => ({ userId: authOf(request).userId, client: clientInfo(request) });

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export function adminRoutes(app: App, ctx: Context, guards: Guards): void {
  const adminOnly = { preHandler: guards.requireRole('admin') };
  // Changing another user: an admin signed in within REAUTH_MAX_AGE (or an admin's API key).
  const adminChange = { preHandler: guards.requireRoleWithRecentSignIn('admin') };

  app.get(
    '/admin/users',
    {
      ...adminOnly,
      schema: {
        querystring: Type.Object({
          q: Type.Optional(Type.String({ maxLength: 200 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
          cursor: Type.Optional(CursorField),
          disabled: Type.Optional(Type.Boolean({ description: 'true: only disabled accounts; false: only enabled ones' })),
        }),
        response: { 200: Type.Object({ users: Type.Array(AdminUserSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errors(401, 403) },
      },
    },
    async (request) => {
      const page = await listUsers(ctx, request.query);
      return { users: page.users.map(toAdminUser), nextCursor: page.nextCursor };
    },
  );

  app.get('/admin/users/:id', { ...adminOnly, schema: { params: IdParams, response: { 200: AdminUserResponseSchema, ...errors(401, 403, 404) } } }, async (request) => ({
    user: toAdminUser(await getUserById(ctx, request.params.id)),
  }));

  app.patch(
    '/admin/users/:id',
    {
      ...adminChange,
      schema: {
        params: IdParams,
        body: Type.Object(
          {
            role: Type.Optional(RoleField),
            name: Type.Optional(NameField),
            emailVerified: Type.Optional(Type.Boolean()),
            disabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        // 409: the last enabled admin cannot lose the role or be disabled.
        response: { 200: AdminUserResponseSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request) => ({ user: toAdminUser(await patchUser(ctx, request.params.id, request.body, actorOf(request))) }),
  );

  app.delete('/admin/users/:id', { ...adminChange, schema: { params: IdParams, response: { 204: NoContent, ...errors(401, 403, 404, 409) } } }, async (request, reply) => {
    await deleteUser(ctx, request.params.id, actorOf(request));
    reply.status(204).send();
  });

  // A user who lost every factor and every recovery code: an admin removes them (audited, the user told).
  app.delete('/admin/users/:id/mfa', { ...adminChange, schema: { params: IdParams, response: { 204: NoContent, ...errors(401, 403, 404) } } }, async (request, reply) => {
    const actor = actorOf(request);
    await removeAllFactors(ctx, await getUserById(ctx, request.params.id), { actorId: actor.userId, client: actor.client, reason: 'admin' });
    reply.status(204).send();
  });

  // An invitation: the account has no password until its owner chooses one through the mailed link.
  app.post(
    '/admin/users',
    {
      ...adminChange,
      schema: {
        body: Type.Object({ email: EmailField, name: Type.Optional(NameField), role: Type.Optional(RoleField), locale: Type.Optional(LocaleField) }, { additionalProperties: false }),
        response: { 201: AdminUserResponseSchema, ...errors(401, 403, 409) },
      },
    },
    async (request, reply) => {
      const user = await inviteUser(ctx, request.body, actorOf(request));
      reply.status(201);
      return { user: toAdminUser(user) };
    },
  );

  // 409 conflict: the address is verified already.
  app.post(
    '/admin/users/:id/verify-email',
    { ...adminChange, schema: { params: IdParams, response: { 202: Type.Object({ message: Type.String() }), ...errors(401, 403, 404, 409) } } },
    async (request, reply) => {
      await resendVerificationFor(ctx, await getUserById(ctx, request.params.id), actorOf(request));
      reply.status(202);
      return { message: 'A new verification link is on its way.' };
    },
  );

  app.post(
    '/admin/users/:id/sign-out',
    { ...adminChange, schema: { params: IdParams, response: { 200: Type.Object({ sessionsEnded: Type.Integer() }), ...errors(401, 403, 404) } } },
    async (request) => ({ sessionsEnded: await signOutUser(ctx, await getUserById(ctx, request.params.id), actorOf(request)) }),
  );

  app.get(
    '/admin/users/:id/sessions',
    { ...adminOnly, schema: { params: IdParams, response: { 200: Type.Object({ sessions: Type.Array(SessionSchema) }), ...errors(401, 403, 404) } } },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const sessions = await listUserSessions(ctx, await getUserById(ctx, request.params.id));
      return { sessions: sessions.map((s) => toPublicSession(s, authOf(request).sessionId)) };
    },
  );

  app.delete(
    '/admin/users/:id/sessions/:sessionId',
    {
      ...adminChange,
      schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }), sessionId: Type.String({ maxLength: 64 }) }), response: { 204: NoContent, ...errors(401, 403, 404) } },
    },
    async (request, reply) => {
      await endUserSession(ctx, await getUserById(ctx, request.params.id), request.params.sessionId, actorOf(request));
      reply.status(204).send();
    },
  );
}
