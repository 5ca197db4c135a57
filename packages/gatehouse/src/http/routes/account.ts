// The signed-in user's own account: profile, password and sessions.
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { localeHint } from '../../i18n/mail-locale.ts';
import { endOwnSession, listSessions } from '../../sessions/service.ts';
import { toPublicSession } from '../../sessions/store.ts';
import { deleteAccount } from '../../users/delete-account.ts';
import { confirmEmailChange, requestEmailChange, revertEmailChange } from '../../users/email-change.ts';
import { exportAccount } from '../../users/export-account.ts';
import { changePassword, getUser, updateProfile } from '../../users/service.ts';
import { toPublicUser } from '../../users/store.ts';
import { clearAuthCookies } from '../cookies.ts';
import type { Guards } from '../plugins/auth.ts';
import { NoContent, errors } from '../responses.ts';
import { AccountExportSchema, AdminUserSchema, DateTime, EmailField, NameField, LocaleField, NewPasswordField, PasswordField, SessionSchema, UserResponseSchema } from '../schemas.ts';
import { authOf, clientInfo, sessionOf, type App } from '../types.ts';

const TokenField = Type.String({ maxLength: 512 });


export function accountRoutes(app: App, ctx: Context, guards: Guards): void {
  const authenticated = { preHandler: guards.authenticate };
  const signedIn = { preHandler: guards.authenticateSession };

  // 401 without a live credential; 403 for what an API key may not do, or a cookie write without its CSRF token.
  app.get('/auth/me', { ...authenticated, config: { allowWithoutMfa: true }, schema: { response: { 200: UserResponseSchema, ...errors(401) } } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    // A session cookie's check has just read the user with the session, and refused a missing or disabled one.
    return { user: toPublicUser(guards.userReadByGuard(request) ?? (await getUser(ctx, authOf(request).userId))) };
  });

  app.patch(
    '/auth/me',
    { ...authenticated, schema: { body: Type.Object({ name: Type.Optional(NameField), locale: Type.Optional(Type.Union([LocaleField, Type.Null()], { description: 'null: follow the browser (Accept-Language) again' })) }), response: { 200: UserResponseSchema, ...errors(401, 403) } } },
    async (request) => ({ user: toPublicUser(await updateProfile(ctx, authOf(request).userId, request.body)) }),
  );

  app.post(
    '/auth/password',
    { preHandler: guards.recentSignIn, schema: { body: Type.Object({ currentPassword: PasswordField, newPassword: NewPasswordField }), response: { 204: NoContent, ...errors(401, 403) } } },
    async (request, reply) => {
      const auth = sessionOf(request);
      await changePassword(ctx, auth.userId, auth.sessionId, request.body, clientInfo(request), localeHint(request.headers['accept-language']));
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

  // E-mail change (users/email-change.ts): 202 with the links on their way; the address changes on confirmation.
  app.post(
    '/auth/email',
    { preHandler: guards.recentSignIn, schema: { body: Type.Object({ email: EmailField }), response: { 202: Type.Object({ message: Type.String() }), ...errors(401, 403, 409) } } },
    async (request, reply) => {
      const auth = sessionOf(request);
      await requestEmailChange(ctx, auth, request.body.email, clientInfo(request), localeHint(request.headers['accept-language']));
      reply.status(202);
      return { message: 'We have sent a confirmation link to the new address; your address changes when it is used.' };
    },
  );

  // The link from the new address's mail: single use; 409 when another account took the address meanwhile.
  app.post(
    '/auth/email/confirm',
    { schema: { body: Type.Object({ token: TokenField }), response: { 200: UserResponseSchema, ...errors(409) } } },
    async (request) => ({ user: toPublicUser(await confirmEmailChange(ctx, request.body.token, clientInfo(request))) }),
  );

  // "This wasn't me", from the old address's notice: the old address back, every session ended, a reset link mailed.
  app.post(
    '/auth/email/revert',
    {
      schema: {
        body: Type.Object({ token: TokenField }),
        response: { 200: Type.Object({ reverted: Type.Boolean(), sessionsEnded: Type.Integer(), message: Type.String() }) },
      },
    },
    async (request) => {
      const result = await revertEmailChange(ctx, request.body.token, clientInfo(request), localeHint(request.headers['accept-language']));
      return { ...result, message: 'Your address stays as it was, every session was signed out, and we have e-mailed you a link to choose a new password.' };
    },
  );

  app.get('/auth/export', { preHandler: guards.recentSignIn, schema: { response: { 200: AccountExportSchema, ...errors(401, 403) } } }, async (request, reply) => {
    const auth = sessionOf(request);
    reply.header('cache-control', 'no-store');
    reply.header('content-disposition', 'attachment; filename="account-export.json"');
    return exportAccount(ctx, auth, clientInfo(request));
  });

  // 409 conflict: the last enabled admin.
  app.delete('/auth/me', { preHandler: guards.recentSignIn, schema: { response: { 204: NoContent, ...errors(401, 403, 409) } } }, async (request, reply) => {
    const auth = sessionOf(request);
    await deleteAccount(ctx, await getUser(ctx, auth.userId), { userId: auth.userId, client: clientInfo(request) }, localeHint(request.headers['accept-language']));
    clearAuthCookies(reply, ctx.config);
    reply.status(204).send();
  });
}
