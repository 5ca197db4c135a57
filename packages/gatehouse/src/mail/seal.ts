// Queued mail is sealed at rest: verification and reset messages carry links that act as passwords.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKey } from '../crypto/random.ts';
import type { MailMessage } from './transport.ts';

const VERSION = 'v1';

/** Seals and opens queued messages with AES-256-GCM under a key derived from GATEHOUSE_SECRET. */
export class MailSealer {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = deriveKey(secret, 'mail-queue');
  }

  /** `id` is bound as associated data, so a sealed message cannot be moved to another row. */
  seal(id: string, message: MailMessage): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(id));
    const body = Buffer.concat([cipher.update(JSON.stringify(message), 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  open(id: string, sealed: string): MailMessage {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== VERSION || !iv || !body || !tag) throw new Error('unknown queued mail format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(id));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return JSON.parse(Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')) as MailMessage;
    } catch {
      throw new Error('a queued message cannot be opened: GATEHOUSE_SECRET is not the one it was sealed with (every instance must share one secret), or the row was altered');
    }
  }
}
