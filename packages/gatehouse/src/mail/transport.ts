// How a message leaves: SMTP through nodemailer when SMTP_URL is set, otherwise .eml files in DATA_DIR/outbox.
// Nothing calls a transport directly but the queue's worker (src/mail/queue.ts).
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../config.ts';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** What the domain sends mail through (`ctx.mailer`): the durable queue. */
export interface Mailer {
  /** Where messages go, for the start-up log: "smtp" or the outbox folder. */
  readonly destination: string;
  /** Queues the message; it is delivered (and retried) by the worker. */
  send(message: MailMessage): Promise<void>;
  /** Delivers due mail soon: after committing a transaction that queued mail through `tx.mail`. */
  kick(): void;
  close(): void;
}

/** The queue's write side, as a store: bound to a transaction, a message commits with the change it announces. */
export interface MailOutbox {
  enqueue(message: MailMessage, now: number): Promise<string>;
}

export interface MailTransport {
  readonly destination: string;
  deliver(message: MailMessage): Promise<void>;
  close(): void;
}

export function outboxDir(config: Config): string {
  return path.join(config.dataDir, 'outbox');
}

// nodemailer waits two minutes for a connection by default; a worker holding a claimed message that long
// only delays the retry.
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

export function createTransport(config: Config): MailTransport {
  if (config.smtpUrl) {
    const transport = nodemailer.createTransport({ url: config.smtpUrl, ...SMTP_TIMEOUTS } as Parameters<typeof nodemailer.createTransport>[0]);
    return {
      destination: 'smtp',
      async deliver(message) {
        await transport.sendMail({ from: config.mailFrom, ...message });
      },
      close: () => transport.close(),
    };
  }
  const dir = outboxDir(config);
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    destination: dir,
    async deliver(message) {
      const info = await transport.sendMail({ from: config.mailFrom, ...message });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // Sortable by time; the random part keeps two messages in one millisecond apart.
      const file = path.join(dir, `${Date.now()}-${randomBytes(4).toString('hex')}.eml`);
      await writeFile(file, info.message as Buffer, { mode: 0o600 });
    },
    close: () => transport.close(),
  };
}
