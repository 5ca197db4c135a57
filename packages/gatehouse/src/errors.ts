// The contract's error codes, their statuses and default messages, defined once. Do not rename a code:
// clients switch on them.
export const ERRORS = {
  validation_failed: [400, 'The request is not valid'],
  invalid_json: [400, 'The request body is not valid JSON'],
  invalid_or_expired_token: [400, 'The token is invalid or has expired'],
  oauth_failed: [400, 'Signing in with the provider failed'],
  invalid_credentials: [401, 'Invalid email or password'],
  authentication_required: [401, 'Authentication is required'],
  token_expired: [401, 'The access token has expired'],
  invalid_token: [401, 'The access token is invalid'],
  token_revoked: [401, 'The access token has been revoked'],
  invalid_refresh_token: [401, 'The refresh token is invalid or has expired'],
  refresh_token_reused: [401, 'The refresh token was already used; the session has been ended'],
  forbidden: [403, 'You are not allowed to do this'],
  csrf_failed: [403, 'Missing or invalid CSRF token'],
  email_not_verified: [403, 'The email address has not been verified'],
  account_disabled: [403, 'This account has been disabled'],
  not_found: [404, 'Not found'],
  method_not_allowed: [405, 'Method not allowed'],
  request_timeout: [408, 'The request took too long to arrive'],
  email_taken: [409, 'An account with this email already exists'],
  conflict: [409, 'The request conflicts with the current state'],
  payload_too_large: [413, 'The request body is too large'],
  unsupported_media_type: [415, 'Unsupported content type; send application/json'],
  rate_limited: [429, 'Too many requests; try again later'],
  headers_too_large: [431, 'The request headers are too large'],
  internal: [500, 'Internal server error'],
  service_unavailable: [503, 'The service is temporarily unavailable'],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof ERRORS;

export interface FieldError {
  field: string;
  message: string;
}

export interface AppErrorOptions {
  message?: string;
  details?: FieldError[];
  /** Seconds, for 429 and 503. */
  retryAfter?: number;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: FieldError[];
  readonly retryAfter?: number;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(options.message ?? ERRORS[code][1], options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code][0];
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }
}

export function validationError(details: FieldError[]): AppError {
  return new AppError('validation_failed', { details });
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: FieldError[] };
}

export function errorBody(err: AppError): ErrorBody {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  if (err.details?.length) body.error.details = err.details;
  return body;
}
