// The access token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1).
import { VerifyError } from './errors.ts';

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** Throws authentication_required when there is no header and invalid_token when it is not a Bearer token. */
export function bearerToken(header: string | readonly string[] | undefined | null): string {
  if (header === undefined || header === null || header === '') throw new VerifyError('authentication_required', { check: 'authorization' });
  const match = typeof header === 'string' ? BEARER.exec(header) : null;
  if (!match?.[1]) throw new VerifyError('invalid_token', { check: 'authorization', message: 'Authorization must be "Bearer <token>"' });
  return match[1];
}
