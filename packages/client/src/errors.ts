// A Gatehouse error answer, as thrown by register, login and refresh: the contract's `{ error: { code,
// message, details? } }` with its HTTP status. `code` is stable; switch on it, not on the message.
// The codes come from the one table in @gatehouse/verify, as a type only: nothing of it runs here, and the
// build copies its declaration into dist/, so the published package needs no other package.
import type { ErrorCode } from '@gatehouse/verify/error-codes';

/**
 * A code of the contract (`invalid_credentials`, `mfa_required`...), or one a newer Gatehouse added, or
 * `http_<status>` when the answer was not the contract's shape (a proxy's error page).
 */
export type GatehouseErrorCode = ErrorCode | (string & {});

export interface FieldError {
  field: string;
  message: string;
}

export class GatehouseError extends Error {
  readonly status: number;
  readonly code: GatehouseErrorCode;
  readonly details?: FieldError[];

  constructor(status: number, code: GatehouseErrorCode, message: string, details?: FieldError[]) {
    super(message);
    this.name = 'GatehouseError';
    this.status = status;
    this.code = code;
    if (details) this.details = details;
  }
}

/** The error code of a response body, or null when it is not the contract's error shape. */
export async function errorCodeOf(res: Response): Promise<GatehouseErrorCode | null> {
  if (!(res.headers.get('content-type') ?? '').includes('json')) return null;
  try {
    const body = (await res.clone().json()) as { error?: { code?: unknown } } | null;
    return typeof body?.error?.code === 'string' ? body.error.code : null;
  } catch {
    return null;
  }
}

export async function toError(res: Response): Promise<GatehouseError> {
  type Body = { error?: { code?: unknown; message?: unknown; details?: unknown } } | null;
  let body: Body = null;
  try {
    body = (await res.json()) as Body;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  const error = body?.error;
  return new GatehouseError(
    res.status,
    typeof error?.code === 'string' ? error.code : `http_${res.status}`,
    typeof error?.message === 'string' ? error.message : `Gatehouse answered ${res.status}`,
    Array.isArray(error?.details) ? (error.details as FieldError[]) : undefined,
  );
}
