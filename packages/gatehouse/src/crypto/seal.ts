// Secrets kept at rest that the server must read back (TOTP secrets, queued mail): AES-256-GCM under a key
// derived from GATEHOUSE_SECRET for one purpose, with the row's id as associated data so a sealed value cannot
// be moved to another row.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKey } from './random.ts';

const VERSION = 'v1';

export class SealedBoxError extends Error {
  constructor(what: string) {
    super(`${what} cannot be opened: GATEHOUSE_SECRET is not the one it was sealed with (every instance must share one secret), or the row was altered`);
    this.name = 'SealedBoxError';
  }
}

export class Sealer {
  private readonly key: Buffer;

  /** `what` names the sealed thing in errors ("a TOTP secret"). */
  constructor(
    secret: string,
    purpose: string,
    private readonly what: string,
  ) {
    this.key = deriveKey(secret, purpose);
  }

  seal(plaintext: string, boundTo: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(boundTo));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  open(sealed: string, boundTo: string): string {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== VERSION || !iv || !body || !tag) throw new SealedBoxError(this.what);
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(boundTo));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedBoxError(this.what);
    }
  }
}
