// The durable mail queue: `ctx.mailer.send` writes the message to the database and a worker in every server
// process delivers due messages, retrying with exponential backoff. A message survives an SMTP outage and a
// restart; instances on one PostgreSQL share the work without sending a message twice (see claimDue).
import type { BackgroundTasks } from '../background.ts';
import type { Logger } from '../context.ts';
import type { MailQueueStore, QueuedMail } from '../db/mail-queue-store.ts';
import type { Metrics } from '../metrics.ts';
import type { MailMessage, Mailer, MailTransport } from './transport.ts';

/** After this many failed attempts a message is marked dead and logged. */
export const MAIL_MAX_ATTEMPTS = 10;
const FIRST_RETRY_MS = 3 * 60_000;
const MAX_RETRY_MS = 8 * 3_600_000;
/** How long a claimed message is left to its worker; longer than the SMTP timeouts of one attempt. */
export const MAIL_LEASE_MS = 5 * 60_000;
const BATCH = 20;
const POLL_MS = 10_000;

/**
 * The wait after the `attempt`-th failure: 3 min, doubling, at most 8 h. The nine waits between ten attempts
 * add up to about 21 hours, so a message is given up about a day after it was queued.
 */
export function retryDelayMs(attempt: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** (attempt - 1), MAX_RETRY_MS);
}

export interface DeliveryReport {
  sent: number;
  failed: number;
  dead: number;
}

export interface MailQueueOptions {
  store: MailQueueStore;
  transport: MailTransport;
  now: () => number;
  log: Logger;
  metrics: Metrics;
  background: BackgroundTasks;
  pollMs?: number;
}

/** Only the transport's code and message: never the message, whose links are secrets. */
function describe(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  return { code: String(e?.code ?? e?.name ?? 'Error'), message: String(e?.message ?? err).slice(0, 300) };
}

export class MailQueue implements Mailer {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: MailQueueOptions) {}

  get destination(): string {
    return this.options.transport.destination;
  }

  async send(message: MailMessage): Promise<void> {
    await this.options.store.enqueue(message, this.options.now());
    this.kick();
  }

  /**
   * Delivers due mail soon, as a background task (so `background.drain()` waits for it). Call it after committing
   * a transaction that enqueued mail through a transaction-bound store; the poll would find it within POLL_MS anyway.
   */
  kick(): void {
    if (this.stopped) return;
    this.options.background.run('mail delivery', async () => {
      await this.deliverDue();
    });
  }

  /** Polls for due mail (retries, and messages another process queued) until stop(); delivers what is due now. */
  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.pollMs ?? POLL_MS);
    this.timer.unref();
    this.kick();
  }

  /** Sends every message due now, batch by batch; a failed one waits for its next attempt. */
  async deliverDue(): Promise<DeliveryReport> {
    const report: DeliveryReport = { sent: 0, failed: 0, dead: 0 };
    for (;;) {
      const now = this.options.now();
      const batch = await this.options.store.claimDue(now, BATCH, now + MAIL_LEASE_MS);
      for (const mail of batch) report[await this.attempt(mail)] += 1;
      if (batch.length < BATCH) return report;
    }
  }

  private async attempt(mail: QueuedMail): Promise<keyof DeliveryReport> {
    const { store, transport, log, metrics } = this.options;
    let error: { code: string; message: string };
    if (mail.message) {
      try {
        await transport.deliver(mail.message);
        await store.markSent(mail.id, this.options.now());
        metrics.mail('sent');
        return 'sent';
      } catch (err) {
        error = describe(err);
      }
    } else {
      error = { code: 'unreadable', message: 'the queued message cannot be opened with this GATEHOUSE_SECRET' };
    }
    const text = `${error.code}: ${error.message}`;
    if (!mail.message || mail.attempts >= MAIL_MAX_ATTEMPTS) {
      await store.markDead(mail.id, text);
      metrics.mail('dead');
      log.error({ mailId: mail.id, attempts: mail.attempts, queuedAt: new Date(mail.createdAt).toISOString(), error }, 'mail given up: it could not be delivered');
      return 'dead';
    }
    const nextAttemptAt = this.options.now() + retryDelayMs(mail.attempts);
    await store.markFailed(mail.id, nextAttemptAt, text);
    metrics.mail('failed');
    log.warn({ mailId: mail.id, attempt: mail.attempts, nextAttemptAt: new Date(nextAttemptAt).toISOString(), error }, 'mail delivery failed; it stays queued for a retry');
    return 'failed';
  }

  /** Stops polling; mail sent from now on is still kicked, so draining the background tasks delivers it. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** After the background tasks are drained: what is queued now waits in the database for the next start. */
  close(): void {
    this.stop();
    this.stopped = true;
    this.options.transport.close();
  }
}
