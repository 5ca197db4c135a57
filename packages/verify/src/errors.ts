// The error codes a verifier can answer with, their statuses and default messages: the same codes, statuses
// and wording as the Gatehouse server's contract, defined once. Do not rename a code: clients switch on them.
export const VERIFY_ERRORS = {
  authentication_required: [401, 'Authentication is required'],
  invalid_token: [401, 'The access token is invalid'],
  token_expired: [401, 'The access token has expired'],
  token_revoked: [401, 'The access token has been revoked'],
  forbidden: [403, 'You are not allowed to do this'],
  service_unavailable: [503, 'The service is temporarily unavailable'],
} as const satisfies Record<string, readonly [number, string]>;

export type VerifyErrorCode = keyof typeof VERIFY_ERRORS;

/** The contract's error body: `{ error: { code, message } }`. */
export interface ErrorBody {
  error: { code: VerifyErrorCode; message: string };
}

export class VerifyError extends Error {
  readonly code: VerifyErrorCode;
  /** The HTTP status the contract gives this code: 401, 403 or 503. */
  readonly status: 401 | 403 | 503;

  constructor(code: VerifyErrorCode, options: { message?: string; cause?: unknown } = {}) {
    super(options.message ?? VERIFY_ERRORS[code][1], options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VerifyError';
    this.code = code;
    this.status = VERIFY_ERRORS[code][0];
  }

  /** The body to send: code and message only, never the cause. */
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/**
 * The `WWW-Authenticate` value for a 401 or 403 (RFC 6750 §3): `Bearer` alone when no token was sent,
 * `error="invalid_token"` for a bad one, `error="insufficient_scope"` for a wrong role. Null for a 503.
 */
export function wwwAuthenticate(err: VerifyError): string | null {
  switch (err.status) {
    case 401:
      return err.code === 'authentication_required' ? 'Bearer' : `Bearer error="invalid_token"`;
    case 403:
      return `Bearer error="insufficient_scope"`;
    default:
      return null;
  }
}
