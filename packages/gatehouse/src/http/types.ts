import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ClientInfo } from '../context.ts';

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface Auth {
  userId: string;
  /** Null for API keys, which belong to no login session. */
  sessionId: string | null;
  role: string;
  /** How the request proved itself: a Bearer access token, the session cookie or an API key. */
  via: 'bearer' | 'session' | 'api_key';
  apiKey: { id: string; scopes: string[] } | null;
  /** How the session was signed in (RFC 8176); empty for API keys. */
  amr: string[];
}

export type SessionAuth = Auth & { sessionId: string };

declare module 'fastify' {
  interface FastifyRequest {
    auth: Auth | null;
  }
  interface FastifyContextConfig {
    /** Answers a user whose role needs a second factor before they have one (MFA_REQUIRED_ROLES): enrolment, sign-out. */
    allowWithoutMfa?: boolean;
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

/** The caller's login session; only called behind the `authenticateSession` guard. */
export function sessionOf(request: FastifyRequest): SessionAuth {
  const auth = authOf(request);
  if (auth.sessionId === null) throw new Error('route is missing the authenticateSession guard');
  return auth as SessionAuth;
}
