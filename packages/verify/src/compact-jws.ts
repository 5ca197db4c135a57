// Splits a compact JWS (RFC 7515 §7.1) into its parts, refusing anything that is not exactly one canonical
// encoding: three non-empty segments of unpadded base64url (RFC 7515 §2, §C) whose last character carries no
// stray bits, and a header that is a UTF-8 JSON object. One token, one spelling: a token cannot be re-spelled
// (padding appended, unused low bits flipped) to dodge a cache, a deny-list or a log search keyed on its text.
import { VerifyError } from './errors.ts';

/** A Gatehouse access token is well under 1 KiB; anything longer is refused before it is decoded. */
export const MAX_TOKEN_LENGTH = 8192;
/** The longest `kid` looked up. */
export const MAX_KID_LENGTH = 256;

export interface CompactJws {
  header: Record<string, unknown>;
  /** The payload bytes (RFC 7515 allows any; an access token's are a JSON object). */
  payload: Buffer;
  /** ASCII(BASE64URL(header) || '.' || BASE64URL(payload)): what the signature covers (RFC 7515 §5.2). */
  signingInput: Buffer;
  signature: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const utf8 = new TextDecoder('utf-8', { fatal: true });

export const malformed = (message = 'The access token is malformed') => new VerifyError('invalid_token', { check: 'format', message });

export function decodeCompactJws(token: string): CompactJws {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw malformed();
  const headerEnd = token.indexOf('.');
  const payloadEnd = token.indexOf('.', headerEnd + 1);
  // An empty signature (alg "none", RFC 7519 §6) or a fourth segment never gets past here.
  if (headerEnd < 0 || payloadEnd < 0 || token.indexOf('.', payloadEnd + 1) >= 0) throw malformed();
  const [h, p, s] = [token.slice(0, headerEnd), token.slice(headerEnd + 1, payloadEnd), token.slice(payloadEnd + 1)];
  if (!isCanonicalBase64url(h) || !isCanonicalBase64url(p) || !isCanonicalBase64url(s)) throw malformed('The access token is not canonical base64url');
  return {
    header: decodeJsonObject(h),
    payload: Buffer.from(p, 'base64url'),
    signingInput: Buffer.from(token.slice(0, payloadEnd), 'ascii'),
    signature: Buffer.from(s, 'base64url'),
  };
}

/** A JWS segment's JSON object (the header, or an access token's payload). */
export function decodeJsonObject(segment: string | Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(typeof segment === 'string' ? Buffer.from(segment, 'base64url') : segment));
  } catch {
    throw malformed();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed();
  return value as Record<string, unknown>;
}

/**
 * True for the one encoding base64url gives bytes: no padding (RFC 7515 §2), no length that leaves a lone
 * 6-bit character (4n + 1), and zero unused low bits in the last character (RFC 4648 §3.5: 4 of them after
 * 4n + 2 characters, 2 after 4n + 3). Node's decoder ignores all three, so they are checked here.
 */
export function isCanonicalBase64url(segment: string): boolean {
  if (!BASE64URL.test(segment)) return false;
  const tail = segment.length % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  const last = ALPHABET.indexOf(segment[segment.length - 1]!);
  return (last & (tail === 2 ? 0b1111 : 0b11)) === 0;
}
