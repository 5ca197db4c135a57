// Receiving Gatehouse's back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.6): a relying party
// registered with a backchannel_logout_uri gets `logout_token=<JWT>` POSTed when the user's Gatehouse session
// ends, and must end its own sessions for that `sid` (or, without one, for that `sub`).
//
//   const logouts = createLogoutTokenVerifier({ issuer: 'https://auth.example.com', clientId: 'my-client-id' });
//   app.post('/backchannel-logout', express.urlencoded({ extended: false }), async (req, res) => {
//     try {
//       const { sub, sid } = await logouts.verifyLogoutToken(req.body.logout_token);
//       await endLocalSessions({ sub, sid });
//       res.set('cache-control', 'no-store').status(200).end();
//     } catch { res.status(400).json({ error: 'invalid_request' }); }
//   });
import { ASYMMETRIC, isAsymmetric, type AsymmetricAlgorithm } from './algorithms.ts';
import { decodeJsonObject } from './compact-jws.ts';
import { VerifyError } from './errors.ts';
import { KeySet } from './key-set.ts';
import { LruCache } from './lru-cache.ts';
import { verifyJwsSignature } from './verify-jws-signature.ts';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface LogoutTokenVerifierOptions {
  /** Gatehouse's PUBLIC_URL. */
  issuer: string;
  /** This relying party's client id: the token's `aud`. */
  clientId: string;
  /** Default `${issuer}/.well-known/jwks.json`. */
  jwksUrl?: string;
  algorithms?: readonly AsymmetricAlgorithm[];
  /** Allowed clock difference, in seconds. Default 5. */
  clockToleranceSec?: number;
  /** A token is refused when its iat is older than this (seconds). Default 3 hours (Gatehouse retries for about 20 minutes). */
  maxAgeSec?: number;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
}

export interface LogoutClaims {
  iss: string;
  sub: string | null;
  /** The session at Gatehouse, as in the ID tokens' `sid`; null when the token names only the user. */
  sid: string | null;
  jti: string;
  iat: number;
}

export interface LogoutTokenVerifier {
  /** The verified claims, or throws VerifyError('invalid_token') naming the failed check. A replayed jti is refused. */
  verifyLogoutToken(token: unknown): Promise<LogoutClaims>;
}

const refuse = (check: 'typ' | 'iss' | 'aud' | 'claims' | 'iat' | 'exp' | 'format', message: string) => new VerifyError('invalid_token', { check, message });

export function createLogoutTokenVerifier(options: LogoutTokenVerifierOptions): LogoutTokenVerifier {
  if (typeof options?.issuer !== 'string' || !options.issuer) throw new TypeError('createLogoutTokenVerifier: "issuer" is required');
  if (typeof options.clientId !== 'string' || !options.clientId) throw new TypeError('createLogoutTokenVerifier: "clientId" is required');
  const algorithms = [...(options.algorithms ?? (Object.keys(ASYMMETRIC) as AsymmetricAlgorithm[]))];
  if (algorithms.length === 0 || !algorithms.every(isAsymmetric)) throw new TypeError('createLogoutTokenVerifier: "algorithms" must be asymmetric');
  const now = options.now ?? Date.now;
  const tolerance = options.clockToleranceSec ?? 5;
  const maxAge = options.maxAgeSec ?? 3 * 3600;
  const keys = new KeySet({
    url: options.jwksUrl ?? `${options.issuer.replace(/\/+$/, '')}/.well-known/jwks.json`,
    algorithms,
    cooldownMs: 1000,
    maxAgeMs: 600_000,
    timeoutMs: 5000,
    fetch: options.fetch ?? globalThis.fetch,
    now,
  });
  // §2.6 step 9 (optional): a jti seen before is a replay.
  const seen = new LruCache<true>(10_000);

  return {
    async verifyLogoutToken(token) {
      if (typeof token !== 'string' || token.length === 0) throw refuse('format', 'No logout_token');
      const { payload } = await verifyJwsSignature(
        token,
        {
          algorithms: new Set(algorithms),
          keyFor: (alg, kid) => {
            if (!isAsymmetric(alg)) return null;
            if (kid === undefined) throw new VerifyError('invalid_token', { check: 'kid', message: 'The token names no usable key (kid)' });
            return keys.find(kid, alg);
          },
        },
        (header) => {
          const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : null;
          // Explicit typing (§2.4) keeps an ID token or an access token from passing as a logout token.
          if (typ !== 'logout+jwt' && typ !== 'application/logout+jwt') throw refuse('typ', 'The token is not a logout token (typ must be logout+jwt)');
        },
      );
      const claims = decodeJsonObject(payload);
      const { iss, aud, sub, sid, jti, iat, exp, events, nonce } = claims;
      if (iss !== options.issuer) throw refuse('iss', 'The token was issued by another issuer');
      if (!(aud === options.clientId || (Array.isArray(aud) && aud.includes(options.clientId)))) throw refuse('aud', 'The token is meant for another client');
      if (nonce !== undefined) throw refuse('claims', 'A logout token must not have a nonce');
      if (typeof events !== 'object' || events === null || Array.isArray(events) || typeof (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] !== 'object') {
        throw refuse('claims', 'The token lacks the back-channel logout event');
      }
      const subject = typeof sub === 'string' && sub ? sub : null;
      const session = typeof sid === 'string' && sid ? sid : null;
      if (!subject && !session) throw refuse('claims', 'The token names neither sub nor sid');
      if (typeof jti !== 'string' || !jti || typeof iat !== 'number') throw refuse('claims', 'The token lacks jti or iat');
      const nowSec = now() / 1000;
      if (iat > nowSec + tolerance + 1) throw refuse('iat', 'The token was issued in the future');
      if (iat < nowSec - maxAge) throw refuse('iat', 'The token is too old');
      if (exp !== undefined && (typeof exp !== 'number' || exp <= nowSec - tolerance)) throw refuse('exp', 'The token has expired');
      if (seen.get(jti)) throw refuse('claims', 'The token was already used (jti)');
      seen.set(jti, true);
      return { iss, sub: subject, sid: session, jti, iat };
    },
  };
}
