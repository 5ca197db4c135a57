// A Fastify plugin with the same two guards as preHandlers: `app.requireAuth` and `app.requireRole(...)`.
// Errors are sent here, in the contract's body, so the app's own error handler cannot reshape them.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Verifier } from './create-verifier.ts';
import { VerifyError, wwwAuthenticate } from './errors.ts';
import type { AccessTokenClaims } from './verify-signed-token.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access-token claims behind requireAuth or requireRole; null elsewhere. */
    auth: AccessTokenClaims | null;
  }
  interface FastifyInstance {
    /** preHandler: a valid Gatehouse access token is required. */
    requireAuth: preHandlerAsyncHookHandler;
    /** preHandler: a valid token whose role is one of `roles`. */
    requireRole(...roles: string[]): preHandlerAsyncHookHandler;
  }
}

export interface GatehouseFastifyOptions {
  verifier: Verifier;
}

/** The guards without the plugin, for apps that prefer to wire preHandlers themselves. */
export function fastifyGuards(verifier: Verifier): { requireAuth: preHandlerAsyncHookHandler; requireRole(...roles: string[]): preHandlerAsyncHookHandler } {
  const guard = (roles: ReadonlySet<string> | null): preHandlerAsyncHookHandler =>
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
      if (roles && !roles.has(auth.role)) return sendError(reply, new VerifyError('forbidden'));
    };
  return {
    requireAuth: guard(null),
    requireRole: (...roles) => {
      if (roles.length === 0) throw new TypeError('requireRole needs at least one role');
      return guard(new Set(roles));
    },
  };
}

const plugin: FastifyPluginAsync<GatehouseFastifyOptions> = async (app, options) => {
  if (!options?.verifier) throw new TypeError('the Gatehouse plugin needs { verifier }');
  const guards = fastifyGuards(options.verifier);
  app.decorateRequest('auth', null);
  app.decorate('requireAuth', guards.requireAuth);
  app.decorate('requireRole', guards.requireRole);
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
