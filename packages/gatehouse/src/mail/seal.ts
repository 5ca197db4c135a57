// Queued mail is sealed at rest: verification and reset messages carry links that act as passwords.
import { Sealer } from '../crypto/seal.ts';
import type { MailMessage } from './transport.ts';

/** Seals and opens queued messages with AES-256-GCM under a key derived from GATEHOUSE_SECRET. */
export class MailSealer {
  private readonly sealer: Sealer;

  constructor(secret: string) {
    this.sealer = new Sealer(secret, 'mail-queue', 'a queued message');
  }

  /** `id` is bound as associated data, so a sealed message cannot be moved to another row. */
  seal(id: string, message: MailMessage): string {
    return this.sealer.seal(JSON.stringify(message), id);
  }

  open(id: string, sealed: string): MailMessage {
    return JSON.parse(this.sealer.open(sealed, id)) as MailMessage;
  }
}
