// Input rules for accounts, configurable through the password length settings.
import type { FieldError } from '../errors.ts';
import { COMMON_PASSWORDS } from './common-passwords.ts';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
}

// Deliberately loose (RFC 5321 limits plus one @ and a dot in the domain): the verification e-mail is the
// real check.
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function checkEmail(email: string): FieldError | null {
  if (email.length > 254 || !EMAIL.test(email)) return { field: 'email', message: 'Enter a valid email address' };
  return null;
}

/** Length counts characters (code points), not bytes; a too-long password is refused, never truncated. */
export function checkPassword(password: string, email: string, policy: PasswordPolicy, field = 'password'): FieldError | null {
  const length = [...password].length;
  if (length < policy.minLength) return { field, message: `Password must be at least ${policy.minLength} characters` };
  if (length > policy.maxLength) return { field, message: `Password must be at most ${policy.maxLength} characters` };
  const lower = password.toLowerCase();
  if (email && lower === email.toLowerCase()) return { field, message: 'Password must not be your email address' };
  if (COMMON_PASSWORDS.has(lower)) return { field, message: 'This password is too common; choose another' };
  return null;
}

export function normalizeName(name: string): string {
  return name.trim();
}

export function checkName(name: string): FieldError | null {
  const length = [...name].length;
  if (length < 1 || length > 100) return { field: 'name', message: 'Name must be 1 to 100 characters' };
  // Control characters in a display name only ever serve to spoof or break other screens.
  if (/[\u0000-\u001f\u007f]/.test(name)) return { field: 'name', message: 'Name must not contain control characters' };
  return null;
}
