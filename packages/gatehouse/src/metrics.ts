// What the domain reports to metrics, and its Prometheus implementation (served at /metrics).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditType } from './audit/store.ts';

/** `hash_queue`: the bounded password-hash queue was full (503). */
export type RateLimitName = 'login_account' | 'login_ip' | 'signup_ip' | 'mail_account' | 'ip' | 'hash_queue';

export interface Metrics {
  /** A security event (the audit types): logins ok/failed, rotations, reuse detections. */
  event(type: AuditType | 'refresh_rotated'): void;
  rateLimited(limit: RateLimitName): void;
  hashSeconds(seconds: number): void;
  /** One delivery attempt of a queued e-mail: sent, failed (retried later) or dead (given up). */
  mail(result: MailResult): void;
}

export type MailResult = 'sent' | 'failed' | 'dead';

/** The Prometheus implementation, one registry per server (so tests can run several side by side). */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'gatehouse_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  readonly latency = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly logins = new Counter({ name: 'gatehouse_logins_total', help: 'Password logins by result', labelNames: ['result'], registers: [this.registry] });
  private readonly rotations = new Counter({ name: 'gatehouse_refresh_rotations_total', help: 'Refresh tokens rotated', registers: [this.registry] });
  private readonly reuse = new Counter({ name: 'gatehouse_refresh_reuse_detected_total', help: 'Refresh token reuse detections (sessions revoked)', registers: [this.registry] });
  private readonly events = new Counter({ name: 'gatehouse_security_events_total', help: 'Audit events by type', labelNames: ['type'], registers: [this.registry] });
  private readonly limited = new Counter({ name: 'gatehouse_rate_limited_total', help: 'Requests refused by a rate limit', labelNames: ['limit'], registers: [this.registry] });
  private readonly hashTime = new Histogram({
    name: 'gatehouse_password_hash_seconds',
    help: 'Time spent verifying a password (argon2id, or the dummy for unknown accounts)',
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
    registers: [this.registry],
  });

  private readonly mailResults = new Counter({ name: 'gatehouse_mail_total', help: 'Delivery attempts of queued e-mail by result (sent, failed and retried, dead)', labelNames: ['result'], registers: [this.registry] });

  constructor() {
    // The standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes), which dashboards expect.
    collectDefaultMetrics({ register: this.registry });
  }

  /** Gauges computed at scrape time: is each backing service answering? */
  addHealthCheck(name: string, help: string, check: () => Promise<void>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000).unref());
        this.set(await Promise.race([check(), timeout]).then(() => 1, () => 0));
      },
    });
  }

  /** A gauge read at scrape time, e.g. how many password hashes are waiting. */
  addGauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** A gauge read at scrape time from a database; a failed read keeps the last value (gatehouse_database_up shows why). */
  addAsyncGauge(name: string, help: string, read: () => Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        try {
          this.set(await read());
        } catch {
          // One failing read must not fail the whole scrape.
        }
      },
    });
  }

  event(type: AuditType | 'refresh_rotated'): void {
    if (type === 'refresh_rotated') return this.rotations.inc();
    this.events.inc({ type });
    if (type === 'login_ok') this.logins.inc({ result: 'ok' });
    if (type === 'login_failed') this.logins.inc({ result: 'failed' });
    if (type === 'refresh_reuse_detected') this.reuse.inc();
  }

  rateLimited(limit: RateLimitName): void {
    this.limited.inc({ limit });
  }

  hashSeconds(seconds: number): void {
    this.hashTime.observe(seconds);
  }

  mail(result: MailResult): void {
    this.mailResults.inc({ result });
  }
}
