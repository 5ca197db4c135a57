import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ClientInfo } from '../context.ts';

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface Auth {
  userId: string;
  sessionId: string;
  role: string;
  /** How the request proved itself: a Bearer access token or the session cookie. */
  via: 'bearer' | 'session';
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: Auth | null;
  }
}

export function clientInfo(request: FastifyRequest): ClientInfo {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent : null };
}

/** The authenticated caller; only called behind the `authenticate` guard. */
export function authOf(request: FastifyRequest): Auth {
  if (!request.auth) throw new Error('route is missing the authenticate guard');
  return request.auth;
}
