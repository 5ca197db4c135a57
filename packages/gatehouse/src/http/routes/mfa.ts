// Second factors: enrolment, listing, removal and recovery codes (each behind a recent sign-in), the second
// step of a sign-in, and step-up re-authentication.
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { localeHint } from '../../i18n/mail-locale.ts';
import { AppError, validationError } from '../../errors.ts';
import { confirmTotp, enrolTotp, listFactors, regenerateRecoveryCodes, removeFactor, type SecondFactorProof } from '../../factors/service.ts';
import { toPublicFactor } from '../../factors/store.ts';
import { confirmMfaReset, requestMfaReset } from '../../factors/reset.ts';
import { completeMfaSignIn } from '../../sign-in/complete-sign-in.ts';
import { reauthenticate, type ReauthProof } from '../../sign-in/step-up.ts';
import { getUser } from '../../users/service.ts';
import { deviceCookieOf } from '../cookies.ts';
import type { Guards } from '../plugins/auth.ts';
import { NoContent, errors } from '../responses.ts';
import { answerSignIn } from '../sign-in-answer.ts';
import { AuthenticationResponseSchema } from './passkeys.ts';
import { DateTime, EmailField, LoginResponseSchema, ModeSchema, PasswordField } from '../schemas.ts';
import { clientInfo, sessionOf, type App } from '../types.ts';

const FactorSchema = Type.Object({
  id: Type.String(),
  type: Type.Union([Type.Literal('totp'), Type.Literal('webauthn')]),
  name: Type.String(),
  createdAt: DateTime,
  lastUsedAt: Type.Union([DateTime, Type.Null()]),
});
const CodeField = Type.String({ maxLength: 64, description: 'The 6-digit code from the authenticator app' });
const RecoveryCodeField = Type.String({ maxLength: 64, description: 'One of the recovery codes, e.g. k3m9x-7qpd2' });
const RecoveryCodes = Type.Array(Type.String(), { description: 'Shown once: each works once; keep them somewhere safe' });

/** Exactly one proof, as the client sent it; `webauthn` is a passkey assertion for options asked for this ticket or session. */
function proofOf(body: { code?: string; recoveryCode?: string; webauthn?: unknown }): SecondFactorProof {
  const given = (['code', 'recoveryCode', 'webauthn'] as const).filter((k) => body[k] !== undefined);
  if (given.length !== 1) throw validationError([{ field: 'code', message: 'Send exactly one of code, recoveryCode or webauthn' }]);
  if (body.webauthn !== undefined) return { webauthn: body.webauthn as never };
  return body.code !== undefined ? { code: body.code } : { recoveryCode: body.recoveryCode! };
}

export function mfaRoutes(app: App, ctx: Context, guards: Guards): void {
  // A user whose role requires a factor (MFA_REQUIRED_ROLES) and has none reaches these, and nothing else.
  const enrolment = { config: { allowWithoutMfa: true } };

  app.get(
    '/auth/mfa',
    { ...enrolment, preHandler: guards.authenticateSession, schema: { response: { 200: Type.Object({ factors: Type.Array(FactorSchema), recoveryCodesLeft: Type.Integer() }), ...errors(401, 403) } } },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const list = await listFactors(ctx, sessionOf(request).userId);
      return { factors: list.factors.map(toPublicFactor), recoveryCodesLeft: list.recoveryCodesLeft };
    },
  );

  app.post(
    '/auth/mfa/totp',
    {
      ...enrolment,
      preHandler: guards.recentSignIn,
      schema: {
        body: Type.Object({ name: Type.Optional(Type.String({ maxLength: 1000 })) }),
        response: { 201: Type.Object({ id: Type.String(), secret: Type.String({ description: 'Base32, to type in by hand' }), otpauthUrl: Type.String() }), ...errors(401, 403, 409) },
      },
    },
    async (request, reply) => {
      const user = await getUser(ctx, sessionOf(request).userId);
      const enrolled = await enrolTotp(ctx, user, request.body);
      reply.status(201).header('cache-control', 'no-store');
      return { id: enrolled.factor.id, secret: enrolled.secret, otpauthUrl: enrolled.otpauthUrl };
    },
  );

  app.post(
    '/auth/mfa/totp/:id/confirm',
    {
      ...enrolment,
      preHandler: guards.recentSignIn,
      schema: {
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Object({ code: CodeField }),
        response: { 200: Type.Object({ factor: FactorSchema, recoveryCodes: Type.Optional(RecoveryCodes) }), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const user = await getUser(ctx, sessionOf(request).userId);
      const confirmed = await confirmTotp(ctx, user, request.params.id, request.body.code, clientInfo(request));
      reply.header('cache-control', 'no-store');
      return { factor: toPublicFactor(confirmed.factor), ...(confirmed.recoveryCodes ? { recoveryCodes: confirmed.recoveryCodes } : {}) };
    },
  );

  app.post('/auth/mfa/recovery-codes', { preHandler: guards.recentSignIn, schema: { response: { 200: Type.Object({ recoveryCodes: RecoveryCodes }), ...errors(401, 403, 409) } } }, async (request, reply) => {
    const user = await getUser(ctx, sessionOf(request).userId);
    reply.header('cache-control', 'no-store');
    return { recoveryCodes: await regenerateRecoveryCodes(ctx, user, clientInfo(request)) };
  });

  app.delete(
    '/auth/mfa/:id',
    { preHandler: guards.recentSignIn, schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 204: NoContent, ...errors(401, 403, 404, 409) } } },
    async (request, reply) => {
      const user = await getUser(ctx, sessionOf(request).userId);
      await removeFactor(ctx, user, request.params.id, clientInfo(request));
      reply.status(204).send();
    },
  );

  app.post(
    '/auth/mfa/verify',
    {
      schema: {
        body: Type.Object({
          mfaTicket: Type.String({ maxLength: 200 }),
          code: Type.Optional(CodeField),
          recoveryCode: Type.Optional(RecoveryCodeField),
          webauthn: Type.Optional(AuthenticationResponseSchema),
          mode: Type.Optional(ModeSchema),
        }),
        response: { 200: LoginResponseSchema, ...errors(401, 429) },
      },
    },
    async (request, reply) => {
      const deviceCookie = deviceCookieOf(request, ctx.config);
      const result = await completeMfaSignIn(ctx, { mfaTicket: request.body.mfaTicket, proof: proofOf(request.body), mode: request.body.mode, deviceCookie }, clientInfo(request));
      return answerSignIn(ctx, reply, result, result.issued.session.mode);
    },
  );

  // Losing every factor: the same 202 for every address; the link's click starts a removal MFA_RESET_DELAY away.
  app.post(
    '/auth/mfa/reset',
    { schema: { body: Type.Object({ email: EmailField }), response: { 202: Type.Object({ message: Type.String() }) } } },
    async (request, reply) => {
      await requestMfaReset(ctx, request.body.email, clientInfo(request), localeHint(request.headers['accept-language']));
      reply.status(202);
      return { message: 'If an account with a second factor exists for that address, we have sent it a link to remove its second factors.' };
    },
  );

  app.post(
    '/auth/mfa/reset/confirm',
    {
      schema: {
        body: Type.Object({ token: Type.String({ maxLength: 512 }) }),
        response: { 202: Type.Object({ removesAt: Type.Unsafe<string>({ ...DateTime, description: 'When the factors go, unless a sign-in with one of them cancels it first' }) }) },
      },
    },
    async (request, reply) => {
      const started = await confirmMfaReset(ctx, request.body.token, clientInfo(request), localeHint(request.headers['accept-language']));
      reply.status(202);
      return { removesAt: new Date(started.removesAt).toISOString() };
    },
  );

  app.post(
    '/auth/reauthenticate',
    {
      ...enrolment,
      preHandler: guards.authenticateSession,
      schema: {
        body: Type.Object({
          password: Type.Optional(PasswordField),
          code: Type.Optional(CodeField),
          recoveryCode: Type.Optional(RecoveryCodeField),
          webauthn: Type.Optional(AuthenticationResponseSchema),
        }),
        response: { 204: NoContent, ...errors(401, 403, 429) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const proof: ReauthProof = body.password !== undefined && body.code === undefined && body.recoveryCode === undefined && body.webauthn === undefined ? { password: body.password } : proofOf(body);
      await reauthenticate(ctx, sessionOf(request), proof, clientInfo(request));
      reply.status(204).send();
    },
  );
}
