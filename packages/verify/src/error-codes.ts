// Every error code of the Gatehouse contract with its HTTP status and default message, defined once: the
// server's AppError, this package's VerifyError and the client's GatehouseError all take their codes from
// here. Pure data, no Node import, so a browser build can use it too. Do not rename a code: clients switch on
// them. A new code is added here first.
export const ERROR_CODES = {
  validation_failed: [400, 'The request is not valid'],
  invalid_json: [400, 'The request body is not valid JSON'],
  invalid_or_expired_token: [400, 'The token is invalid or has expired'],
  oauth_failed: [400, 'Signing in with the provider failed'],
  invalid_webauthn_response: [400, 'The passkey response is not valid'],
  invalid_credentials: [401, 'Invalid email or password'],
  authentication_required: [401, 'Authentication is required'],
  token_expired: [401, 'The access token has expired'],
  invalid_token: [401, 'The access token is invalid'],
  token_revoked: [401, 'The access token has been revoked'],
  invalid_refresh_token: [401, 'The refresh token is invalid or has expired'],
  refresh_token_reused: [401, 'The refresh token was already used; the session has been ended'],
  invalid_mfa_ticket: [401, 'The sign-in ticket is invalid or has expired; sign in again'],
  invalid_mfa_code: [401, 'The code is not valid'],
  forbidden: [403, 'You are not allowed to do this'],
  csrf_failed: [403, 'Missing or invalid CSRF token'],
  email_not_verified: [403, 'The email address has not been verified'],
  account_disabled: [403, 'This account has been disabled'],
  mfa_required: [403, 'A second factor is required'],
  mfa_enrollment_required: [403, 'Set up a second factor to continue'],
  reauthentication_required: [403, 'Sign in again to do this'],
  not_found: [404, 'Not found'],
  method_not_allowed: [405, 'Method not allowed'],
  request_timeout: [408, 'The request took too long to arrive'],
  email_taken: [409, 'An account with this email already exists'],
  conflict: [409, 'The request conflicts with the current state'],
  payload_too_large: [413, 'The request body is too large'],
  unsupported_media_type: [415, 'Unsupported content type; send application/json'],
  headers_too_large: [431, 'The request headers are too large'],
  rate_limited: [429, 'Too many requests; try again later'],
  internal: [500, 'Internal server error'],
  service_unavailable: [503, 'The service is temporarily unavailable'],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The HTTP status the contract gives `code`. */
export type ErrorStatus<C extends ErrorCode = ErrorCode> = (typeof ERROR_CODES)[C][0];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
