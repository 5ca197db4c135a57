// Sign-in with OAuth / OpenID Connect providers, the one-time code exchange, and linked identities.
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { localeHint } from '../../i18n/mail-locale.ts';
import { STATE_TTL_MS, exchangeCode, finishSignIn, listIdentities, startSignIn, unlinkIdentity } from '../../methods/social/service.ts';
import type { Guards } from '../plugins/auth.ts';
import { NoContent, errors, redirection } from '../responses.ts';
import { DateTime, LoginResponseSchema, ModeSchema } from '../schemas.ts';
import { authOf, clientInfo, type App } from '../types.ts';
import { answerSignIn } from '../sign-in-answer.ts';

/** Ties a sign-in's `state` to the browser that started it (RFC 9700 §4.7.1): a callback link sent by an attacker fails. */
export const OAUTH_BINDING_COOKIE = 'gh_oauth';

const ProviderParam = Type.Object({ provider: Type.String({ maxLength: 64 }) });

const IdentitySchema = Type.Object({
  provider: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  emailVerified: Type.Boolean(),
  createdAt: DateTime,
});

function redirect(reply: FastifyReply, target: string, params: Record<string, string>): FastifyReply {
  const url = new URL(target);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  reply.header('cache-control', 'no-store');
  return reply.redirect(url.href, 302);
}

export function socialRoutes(app: App, ctx: Context, guards: Guards): void {
  app.get(
    '/auth/oauth/:provider',
    {
      schema: {
        params: ProviderParam,
        querystring: Type.Object({ redirect_to: Type.Optional(Type.String({ maxLength: 2048, description: 'One of OAUTH_REDIRECT_ALLOWLIST' })) }),
        // 404: no provider of that name is configured.
        response: { 302: redirection("To the provider's authorization endpoint, with state, PKCE S256 and (OpenID Connect) nonce"), ...errors(404) },
      },
    },
    async (request, reply) => {
      const started = await startSignIn(ctx, request.params.provider, request.query.redirect_to, request.cookies[OAUTH_BINDING_COOKIE]);
      // Lax: the provider's redirect back is a top-level GET navigation from another site, which Lax allows.
      reply.setCookie(OAUTH_BINDING_COOKIE, started.binding, {
        httpOnly: true,
        secure: ctx.config.secureCookies,
        sameSite: 'lax',
        path: '/auth/oauth',
        maxAge: Math.floor(STATE_TTL_MS / 1000),
      });
      reply.header('cache-control', 'no-store');
      return reply.redirect(started.location, 302);
    },
  );

  app.get(
    '/auth/oauth/:provider/callback',
    {
      schema: {
        params: ProviderParam,
        // The provider's answer: code, state, iss, or error and error_description. Checked by the service.
        querystring: Type.Object({}, { additionalProperties: Type.String({ maxLength: 4096 }) }),
        // A refusal the provider reported, or a sign-in policy refused, goes back to redirect_to as ?error=;
        // a callback that cannot be tied to a sign-in this browser started is answered here.
        response: { 302: redirection('To redirect_to with ?code= (a one-time code for POST /auth/oauth/exchange), or ?error=&error_description='), ...errors(404, 409) },
      },
    },
    async (request, reply) => {
      const query = request.url.indexOf('?');
      const search = new URLSearchParams(query === -1 ? '' : request.url.slice(query + 1));
      // The browser's language: an account this sign-in creates keeps it (and its verification e-mail is in it).
      const outcome = await finishSignIn(ctx, request.params.provider, search, request.cookies[OAUTH_BINDING_COOKIE], localeHint(request.headers['accept-language']));
      if (outcome.ok) return redirect(reply, outcome.redirectTo, { code: outcome.code });
      return redirect(reply, outcome.redirectTo, {
        error: outcome.error.code,
        error_description: outcome.error.message,
        ...(outcome.providerError ? { provider_error: outcome.providerError } : {}),
      });
    },
  );

  app.post(
    '/auth/oauth/exchange',
    {
      schema: {
        body: Type.Object({ code: Type.String({ maxLength: 512 }), mode: Type.Optional(ModeSchema) }),
        // 401/403: the account was disabled or its sessions ended since the code was issued.
        response: { 200: LoginResponseSchema, ...errors(401, 403) },
      },
    },
    async (request, reply) => {
      const mode = request.body.mode ?? 'token';
      const result = await exchangeCode(ctx, request.body.code, mode, clientInfo(request));
      reply.header('cache-control', 'no-store');
      return answerSignIn(ctx, reply, result, mode);
    },
  );

  app.get(
    '/auth/identities',
    {
      preHandler: guards.authenticate,
      schema: { response: { 200: Type.Object({ identities: Type.Array(IdentitySchema), hasPassword: Type.Boolean() }), ...errors(401) } },
    },
    async (request, reply) => {
      const { identities, hasPassword } = await listIdentities(ctx, authOf(request).userId);
      reply.header('cache-control', 'no-store');
      return {
        identities: identities.map((i) => ({ provider: i.provider, email: i.email, emailVerified: i.emailVerified, createdAt: new Date(i.createdAt).toISOString() })),
        hasPassword,
      };
    },
  );

  // 409: the last way to sign in cannot be removed.
  app.delete('/auth/identities/:provider', { preHandler: guards.authenticate, schema: { params: ProviderParam, response: { 204: NoContent, ...errors(401, 403, 404, 409) } } }, async (request, reply) => {
    await unlinkIdentity(ctx, authOf(request).userId, request.params.provider);
    reply.status(204).send();
  });
}
