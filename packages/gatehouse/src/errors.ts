// The contract's error codes, their statuses and default messages are defined once, in @gatehouse/verify
// (shared with every service that verifies our tokens and with @gatehouse/client); AppError carries them here.
import { ERROR_CODES, type ErrorCode } from '@gatehouse/verify/error-codes';

export const ERRORS = ERROR_CODES;
export type { ErrorCode };

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
