// The errors a verifier answers with: a subset of the contract's codes (./error-codes.ts), with the same
// statuses and wording as the Gatehouse server, and which check refused the token.
import { ERROR_CODES, type ErrorStatus } from './error-codes.ts';

const VERIFY_CODES = ['authentication_required', 'invalid_token', 'token_expired', 'token_revoked', 'forbidden', 'mfa_required', 'service_unavailable'] as const;

export type VerifyErrorCode = (typeof VERIFY_CODES)[number];

/** The codes a verifier can answer with, their statuses and default messages (taken from ERROR_CODES). */
export const VERIFY_ERRORS = Object.freeze(Object.fromEntries(VERIFY_CODES.map((code) => [code, ERROR_CODES[code]]))) as {
  readonly [C in VerifyErrorCode]: (typeof ERROR_CODES)[C];
};

/**
 * Which check refused the request. Token checks: `format` (length, compact shape, canonical base64url, JSON),
 * `alg`, `typ`, `crit`, `kid` (missing, malformed or unknown key), `signature`, `iss`, `aud`, `claims` (a
 * required claim missing or malformed), `nbf`, `iat` (issued in the future), `exp`; then `revoked` (the
 * revocation check said so, or could not answer), `keys` (the JWKS could not be fetched), `authorization`
 * (no usable Authorization header), and the guards' `role`, `mfa`, `scope`.
 */
export type VerifyCheck =
  | 'format'
  | 'alg'
  | 'typ'
  | 'crit'
  | 'kid'
  | 'signature'
  | 'iss'
  | 'aud'
  | 'claims'
  | 'nbf'
  | 'iat'
  | 'exp'
  | 'revoked'
  | 'keys'
  | 'authorization'
  | 'role'
  | 'mfa'
  | 'scope';

/** The contract's error body: `{ error: { code, message } }`. */
export interface ErrorBody {
  error: { code: VerifyErrorCode; message: string };
}

export interface VerifyErrorOptions {
  /** Which check failed; logged by the service, never sent to the client. */
  check?: VerifyCheck;
  message?: string;
  cause?: unknown;
  /** For a missing scope: the scopes the route needs, named in WWW-Authenticate (RFC 6750 §3). */
  scope?: string;
}

export class VerifyError extends Error {
  readonly code: VerifyErrorCode;
  /** The HTTP status the contract gives this code: 401, 403 or 503. */
  readonly status: ErrorStatus<VerifyErrorCode>;
  /** Which check failed, or null when no single check did. The message names it too, and holds no secret. */
  readonly check: VerifyCheck | null;
  /** The scopes a requireScope guard needed (check `scope`), else null. */
  readonly scope: string | null;

  constructor(code: VerifyErrorCode, options: VerifyErrorOptions = {}) {
    super(options.message ?? ERROR_CODES[code][1], options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VerifyError';
    this.code = code;
    this.status = ERROR_CODES[code][0];
    this.check = options.check ?? null;
    this.scope = options.scope ?? null;
  }

  /** The body to send: code and message only, never the check or the cause. */
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/**
 * The `WWW-Authenticate` value for a 401 or 403 (RFC 6750 §3): `Bearer` alone when no token was sent,
 * `error="invalid_token"` for a bad one, `error="insufficient_scope"` for a wrong role, a missing scope (with `scope="…"`) or a missing second
 * factor. Null for a 503.
 */
export function wwwAuthenticate(err: VerifyError): string | null {
  switch (err.status) {
    case 401:
      return err.code === 'authentication_required' ? 'Bearer' : `Bearer error="invalid_token"`;
    case 403:
      return err.scope ? `Bearer error="insufficient_scope", scope="${err.scope}"` : `Bearer error="insufficient_scope"`;
    default:
      return null;
  }
}
