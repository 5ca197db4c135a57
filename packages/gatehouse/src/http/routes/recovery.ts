// E-mail verification and password recovery, as JSON.
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { localeHint } from '../../i18n/mail-locale.ts';
import { forgotPassword, resendVerification, resendVerificationTo, resetPassword, verifyEmail } from '../../recovery/service.ts';
import { disownSignIn } from '../../sign-in/new-device.ts';
import { toPublicUser } from '../../users/store.ts';
import type { Guards } from '../plugins/auth.ts';
import { NoContent, errors } from '../responses.ts';
import { EmailField, NewPasswordField, UserResponseSchema } from '../schemas.ts';
import { authOf, clientInfo, type App } from '../types.ts';

const TokenField = Type.String({ maxLength: 512 });
const Accepted = Type.Object({ message: Type.String() });
// The same words for every address, so the answer says nothing about which accounts exist.
const FORGOT_MESSAGE = 'If an account exists for that address, we have sent it a link to reset the password.';

export function recoveryRoutes(app: App, ctx: Context, guards: Guards): void {
  app.post('/auth/verify-email', { schema: { body: Type.Object({ token: TokenField }), response: { 200: UserResponseSchema } } }, async (request) => ({
    user: toPublicUser(await verifyEmail(ctx, request.body.token, clientInfo(request))),
  }));

  // Signed in: for the caller's own address. Signed out (an unverified account cannot sign in under
  // REQUIRE_EMAIL_VERIFICATION): `{ email }`, answered alike for every address.
  // 401/403 only without `email`: then the caller must be signed in (and a cookie needs its CSRF token).
  app.post('/auth/verify-email/resend', { schema: { body: Type.Object({ email: Type.Optional(EmailField) }), response: { 202: Accepted, ...errors(401, 403) } } }, async (request, reply) => {
    if (request.body.email !== undefined) await resendVerificationTo(ctx, request.body.email, clientInfo(request), localeHint(request.headers['accept-language']));
    else {
      await guards.authenticate(request);
      await resendVerification(ctx, authOf(request).userId, clientInfo(request), localeHint(request.headers['accept-language']));
    }
    reply.status(202);
    return { message: 'If the address is not verified yet, a new link is on its way.' };
  });

  app.post('/auth/forgot-password', { schema: { body: Type.Object({ email: EmailField }), response: { 202: Accepted } } }, async (request, reply) => {
    await forgotPassword(ctx, request.body.email, clientInfo(request), localeHint(request.headers['accept-language']));
    reply.status(202);
    return { message: FORGOT_MESSAGE };
  });

  // "This wasn't me", from a new-device notice: every session ends and a reset link goes to the address.
  app.post(
    '/auth/not-me',
    { schema: { body: Type.Object({ token: TokenField }), response: { 200: Type.Object({ sessionsEnded: Type.Integer(), message: Type.String() }) } } },
    async (request) => ({
      sessionsEnded: await disownSignIn(ctx, request.body.token, clientInfo(request), localeHint(request.headers['accept-language'])),
      message: 'Every session of the account was signed out. We have e-mailed you a link to choose a new password.',
    }),
  );

  app.post('/auth/reset-password', { schema: { body: Type.Object({ token: TokenField, password: NewPasswordField }), response: { 204: NoContent } } }, async (request, reply) => {
    await resetPassword(ctx, request.body.token, request.body.password, clientInfo(request), localeHint(request.headers['accept-language']));
    reply.status(204).send();
  });
}
