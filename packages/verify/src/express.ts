// Express guards: the seeds' authenticate/authorize, done right. 401 for a missing, invalid, expired or
// revoked token, 403 for a wrong role or a missing second factor, 503 when the revocation backend cannot
// answer; always the contract's error body; `req.auth` holds the verified claims.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { VerifyError, wwwAuthenticate } from './errors.ts';
import type { Verifier } from './create-verifier.ts';
import { mfaRule, roleRule, scopeRule, type ClaimsRule } from './guard-rules.ts';
import type { AccessTokenClaims, ClientAccessTokenClaims, VerifiedClaims } from './verify-signed-token.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /**
       * The verified access-token claims; set by requireAuth, requireRole, requireMfa and requireScope. A client
       * token's (createVerifier({ tokens: 'client' })) has client_id and scope, and no sid or role.
       */
      auth?: AccessTokenClaims | ClientAccessTokenClaims;
    }
  }
}

type AnyVerifier = Verifier<VerifiedClaims>;

/** Lets the request through with a valid token; `req.auth` holds its claims. */
export function requireAuth(verifier: AnyVerifier): RequestHandler {
  return guard(verifier, null);
}

/** Lets the request through when the token's role is one of `roles`. Works with or without requireAuth before it. */
export function requireRole(verifier: AnyVerifier, ...roles: string[]): RequestHandler {
  return guard(verifier, roleRule(roles));
}

/** Lets the request through when the session passed a second factor (`amr` has "mfa"); else 403 mfa_required. */
export function requireMfa(verifier: AnyVerifier): RequestHandler {
  return guard(verifier, mfaRule);
}

/**
 * For a client-token verifier (createVerifier({ tokens: 'client', audience: <this API's resource> })): lets the
 * request through when the token's scope has every one of `scopes`; else 403 forbidden with
 * `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"`.
 */
export function requireScope(verifier: AnyVerifier, ...scopes: string[]): RequestHandler {
  return guard(verifier, scopeRule(scopes));
}

export interface ExpressGuards {
  requireAuth: RequestHandler;
  requireRole: (...roles: string[]) => RequestHandler;
  requireMfa: () => RequestHandler;
  requireScope: (...scopes: string[]) => RequestHandler;
}

/** The guards bound to one verifier: `const { requireAuth, requireRole, requireMfa } = expressAuth(verifier)`. */
export function expressAuth(verifier: AnyVerifier): ExpressGuards {
  return {
    requireAuth: requireAuth(verifier),
    requireRole: (...roles) => requireRole(verifier, ...roles),
    requireMfa: () => requireMfa(verifier),
    requireScope: (...scopes) => requireScope(verifier, ...scopes),
  };
}

function guard(verifier: AnyVerifier, rule: ClaimsRule | null): RequestHandler {
  // Written without async so it works the same on Express 4, which ignores returned promises.
  return (req: Request, res: Response, next: NextFunction) => {
    const known = req.auth;
    const claims = known ? Promise.resolve(known) : verifier.verifyAuthorization(req.headers.authorization);
    claims.then(
      (auth) => {
        req.auth = auth;
        const refusal = rule?.(auth);
        if (refusal) return sendError(res, refusal);
        next();
      },
      (err: unknown) => (err instanceof VerifyError ? sendError(res, err) : next(err)),
    );
  };
}

function sendError(res: Response, err: VerifyError): void {
  const challenge = wwwAuthenticate(err);
  if (challenge) res.setHeader('www-authenticate', challenge);
  if (err.status === 503) res.setHeader('retry-after', '5');
  res.setHeader('cache-control', 'no-store');
  res.status(err.status).json(err.toBody());
}
