// A Fastify plugin with the same guards as preHandlers: `app.requireAuth`, `app.requireRole(...)` and
// `app.requireMfa()`. Errors are sent here, in the contract's body, so the app's own error handler cannot
// reshape them.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Verifier } from './create-verifier.ts';
import { VerifyError, wwwAuthenticate } from './errors.ts';
import { mfaRule, roleRule, scopeRule, type ClaimsRule } from './guard-rules.ts';
import type { AccessTokenClaims, ClientAccessTokenClaims, VerifiedClaims } from './verify-signed-token.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access-token claims behind requireAuth, requireRole or requireMfa; null elsewhere. */
    auth: AccessTokenClaims | ClientAccessTokenClaims | null;
  }
  interface FastifyInstance {
    /** preHandler: a valid Gatehouse access token is required. */
    requireAuth: preHandlerAsyncHookHandler;
    /** preHandler: a valid token whose role is one of `roles`. */
    requireRole(...roles: string[]): preHandlerAsyncHookHandler;
    /** preHandler: a valid token whose session passed a second factor (`amr` has "mfa"); else 403 mfa_required. */
    requireMfa(): preHandlerAsyncHookHandler;
    /** preHandler: a client token (verifier with tokens: 'client') whose scope has every one of `scopes`; else 403. */
    requireScope(...scopes: string[]): preHandlerAsyncHookHandler;
  }
}

export interface GatehouseFastifyOptions {
  verifier: Verifier<VerifiedClaims>;
}

export interface FastifyGuards {
  requireAuth: preHandlerAsyncHookHandler;
  requireRole(...roles: string[]): preHandlerAsyncHookHandler;
  requireMfa(): preHandlerAsyncHookHandler;
  requireScope(...scopes: string[]): preHandlerAsyncHookHandler;
}

/** The guards without the plugin, for apps that prefer to wire preHandlers themselves. */
export function fastifyGuards(verifier: Verifier<VerifiedClaims>): FastifyGuards {
  const guard = (rule: ClaimsRule | null): preHandlerAsyncHookHandler =>
    async function gatehouseGuard(request: FastifyRequest, reply: FastifyReply) {
      let auth = request.auth;
      if (!auth) {
        try {
          auth = await verifier.verifyAuthorization(request.headers.authorization);
        } catch (err) {
          if (err instanceof VerifyError) return sendError(reply, err);
          throw err;
        }
        request.auth = auth;
      }
      const refusal = rule?.(auth);
      if (refusal) return sendError(reply, refusal);
    };
  const requireMfa = guard(mfaRule);
  return {
    requireAuth: guard(null),
    requireRole: (...roles) => guard(roleRule(roles)),
    requireMfa: () => requireMfa,
    requireScope: (...scopes) => guard(scopeRule(scopes)),
  };
}

const plugin: FastifyPluginAsync<GatehouseFastifyOptions> = async (app, options) => {
  if (!options?.verifier) throw new TypeError('the Gatehouse plugin needs { verifier }');
  const guards = fastifyGuards(options.verifier);
  app.decorateRequest('auth', null);
  app.decorate('requireAuth', guards.requireAuth);
  app.decorate('requireRole', guards.requireRole);
  app.decorate('requireMfa', guards.requireMfa);
  app.decorate('requireScope', guards.requireScope);
};

/** `app.register(gatehouseAuth, { verifier })`, then `{ preHandler: app.requireAuth }` on a route. */
export const gatehouseAuth = fp(plugin, { fastify: '5.x', name: '@gatehouse/verify' });
export default gatehouseAuth;

function sendError(reply: FastifyReply, err: VerifyError): FastifyReply {
  const challenge = wwwAuthenticate(err);
  if (challenge) reply.header('www-authenticate', challenge);
  if (err.status === 503) reply.header('retry-after', '5');
  return reply.code(err.status).header('cache-control', 'no-store').send(err.toBody());
}
