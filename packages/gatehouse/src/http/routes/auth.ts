// Sign-up, login, refresh, logout: the token lifecycle.
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { localeHint } from '../../i18n/mail-locale.ts';
import { login } from '../../methods/password/login.ts';
import { rotateRefreshToken } from '../../sessions/rotate-refresh-token.ts';
import { logout, logoutEverywhere } from '../../sessions/service.ts';
import { register } from '../../users/service.ts';
import { toPublicUser } from '../../users/store.ts';
import { REFRESH_COOKIE, clearAuthCookies, deviceCookieOf, renewRefreshCookie, setCsrfCookie } from '../cookies.ts';
import { answerSignIn } from '../sign-in-answer.ts';
import type { Guards } from '../plugins/auth.ts';
import type { Csrf } from '../plugins/csrf.ts';
import { NoContent, errors } from '../responses.ts';
import { EmailField, LoginResponseSchema, ModeSchema, NameField, NewPasswordField, PasswordField } from '../schemas.ts';
import { clientInfo, sessionOf, type App } from '../types.ts';

export function authRoutes(app: App, ctx: Context, guards: Guards, csrf: Csrf): void {
  app.post(
    '/auth/register',
    {
      schema: {
        body: Type.Object({ email: EmailField, password: NewPasswordField, name: Type.Optional(NameField), mode: Type.Optional(ModeSchema) }),
        response: { 201: LoginResponseSchema, ...errors(409) },
      },
    },
    async (request, reply) => {
      const mode = request.body.mode ?? 'token';
      // The language the account signs up in (Accept-Language) becomes its preference: its e-mails follow it.
      const result = await register(ctx, { ...request.body, mode, locale: localeHint(request.headers['accept-language']) }, clientInfo(request));
      reply.status(201);
      return answerSignIn(ctx, reply, result, mode);
    },
  );

  app.post(
    '/auth/login',
    {
      schema: {
        body: Type.Object({ email: EmailField, password: PasswordField, mode: Type.Optional(ModeSchema) }),
        response: { 200: LoginResponseSchema, ...errors(401, 403) },
      },
    },
    async (request, reply) => {
      const mode = request.body.mode ?? 'token';
      const deviceCookie = deviceCookieOf(request, ctx.config);
      const result = await login(ctx, { email: request.body.email, password: request.body.password, mode, deviceCookie }, clientInfo(request));
      return answerSignIn(ctx, reply, result, mode);
    },
  );

  app.post(
    '/auth/refresh',
    {
      schema: {
        body: Type.Object({ refreshToken: Type.Optional(Type.String({ maxLength: 1024, description: 'Else the refresh cookie, with X-CSRF-Token' })) }),
        // 403: a cookie refresh without its CSRF token.
        response: { 200: LoginResponseSchema, ...errors(401, 403) },
      },
    },
    async (request, reply) => {
      const fromBody = request.body.refreshToken;
      const fromCookie = fromBody === undefined ? request.cookies[REFRESH_COOKIE] : undefined;
      if (fromBody === undefined && !fromCookie) throw new AppError('invalid_refresh_token', { message: 'No refresh token was sent' });
      // The cookie travels by itself, so a cookie refresh is a cookie-authenticated write: it needs CSRF.
      if (fromCookie) csrf.verify(request);
      try {
        const rotation = await rotateRefreshToken(ctx, (fromBody ?? fromCookie)!, clientInfo(request));
        const tokens = { user: toPublicUser(rotation.user), accessToken: rotation.accessToken, tokenType: 'Bearer' as const, expiresIn: rotation.expiresIn };
        if (fromCookie) {
          renewRefreshCookie(reply, ctx.config, rotation.refreshToken);
          return tokens;
        }
        return { ...tokens, refreshToken: rotation.refreshToken };
      } catch (err) {
        if (fromCookie) clearAuthCookies(reply, ctx.config);
        throw err;
      }
    },
  );

  // 403: an API key (it belongs to no session), or a cookie without its CSRF token.
  const endsSession = { response: { 204: NoContent, ...errors(401, 403) } };

  app.post('/auth/logout', { preHandler: guards.authenticateSession, config: { allowWithoutMfa: true }, schema: endsSession }, async (request, reply) => {
    const auth = sessionOf(request);
    await logout(ctx, auth.userId, auth.sessionId, clientInfo(request));
    clearAuthCookies(reply, ctx.config);
    reply.status(204).send();
  });

  app.post('/auth/logout-all', { preHandler: guards.authenticateSession, config: { allowWithoutMfa: true }, schema: endsSession }, async (request, reply) => {
    const auth = sessionOf(request);
    await logoutEverywhere(ctx, auth.userId, auth.sessionId, clientInfo(request));
    clearAuthCookies(reply, ctx.config);
    reply.status(204).send();
  });

  app.get('/auth/csrf', { schema: { response: { 200: Type.Object({ csrfToken: Type.String() }) } } }, async (request, reply) => {
    const { nonce, token, isNew } = csrf.issue(request);
    if (isNew) setCsrfCookie(reply, ctx.config, nonce);
    reply.header('cache-control', 'no-store');
    return { csrfToken: token };
  });
}
