import { Algorithm, hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';

// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
const ARGON2_OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
const CURRENT_PARAMS = `$argon2id$v=19$m=${ARGON2_OPTIONS.memoryCost},t=${ARGON2_OPTIONS.timeCost},p=${ARGON2_OPTIONS.parallelism}$`;
const BCRYPT = /^\$2[aby]\$\d{2}\$/;

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash is bcrypt or older argon2 parameters: store a new one after this successful login. */
  needsRehash: boolean;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export async function verifyPassword(storedHash: string, password: string): Promise<PasswordCheck> {
  if (storedHash.startsWith('$argon2')) {
    const ok = await verify(storedHash, password).catch(() => false);
    return { ok, needsRehash: ok && !storedHash.startsWith(CURRENT_PARAMS) };
  }
  if (BCRYPT.test(storedHash)) {
    // Imported hashes only: bcrypt reads the first 72 bytes, as the system that made them did.
    const ok = await bcrypt.compare(password, storedHash).catch(() => false);
    return { ok, needsRehash: ok };
  }
  return { ok: false, needsRehash: false };
}

export function isSupportedHash(storedHash: string): boolean {
  return storedHash.startsWith('$argon2id$') || BCRYPT.test(storedHash);
}

let dummyHash: Promise<string> | undefined;

/** Spends the same argon2id work as a real check, for unknown e-mails, so timing does not reveal accounts. */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword(randomBytes(16).toString('base64url'));
  await verify(await dummyHash, password).catch(() => false);
}
