// Signing in by e-mail: request a link and code; use one of them.
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { validationError } from '../../errors.ts';
import { localeHint } from '../../i18n/mail-locale.ts';
import { requestMagicLink, signInWithMagicLink, type MagicProof } from '../../methods/magic-link/service.ts';
import { errors } from '../responses.ts';
import { answerSignIn } from '../sign-in-answer.ts';
import { EmailField, LoginResponseSchema, ModeSchema } from '../schemas.ts';
import { clientInfo, type App } from '../types.ts';

// The same words for every address: the answer says nothing about which accounts exist.
const SENT = 'If that address can sign in here, a link and a code are on their way.';

export function magicLinkRoutes(app: App, ctx: Context): void {
  app.post(
    '/auth/magic-link',
    {
      schema: {
        body: Type.Object({ email: EmailField, redirect_to: Type.Optional(Type.String({ maxLength: 2048, description: 'Where the link page sends the browser afterwards: /account, /register/passkey/new (create a passkey at once) or an OAUTH_REDIRECT_ALLOWLIST entry' })) }),
        response: { 202: Type.Object({ message: Type.String() }) },
      },
    },
    async (request, reply) => {
      await requestMagicLink(ctx, { email: request.body.email, redirectTo: request.body.redirect_to, locale: localeHint(request.headers['accept-language']) }, clientInfo(request));
      reply.status(202);
      return { message: SENT };
    },
  );

  app.post(
    '/auth/magic-link/verify',
    {
      schema: {
        body: Type.Object({
          token: Type.Optional(Type.String({ maxLength: 200, description: 'From the link' })),
          email: Type.Optional(EmailField),
          code: Type.Optional(Type.String({ maxLength: 20, description: 'The 6-digit code from the e-mail, with email' })),
          mode: Type.Optional(ModeSchema),
        }),
        response: { 200: LoginResponseSchema, ...errors(401, 403) },
      },
    },
    async (request, reply) => {
      const { token, email, code } = request.body;
      let proof: MagicProof;
      if (token !== undefined && email === undefined && code === undefined) proof = { token };
      else if (token === undefined && email !== undefined && code !== undefined) proof = { email, code };
      else throw validationError([{ field: token === undefined ? 'code' : 'token', message: 'Send either token, or email and code' }]);
      const mode = request.body.mode ?? 'token';
      return answerSignIn(ctx, reply, await signInWithMagicLink(ctx, proof, mode, clientInfo(request), localeHint(request.headers['accept-language'])), mode);
    },
  );
}
