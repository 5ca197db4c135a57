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
  /** gatehouse_http_requests_total and gatehouse_http_request_duration_seconds, by method, route and status. */
  readonly http = new RequestMetrics(this.registry, {
    counter: { name: 'gatehouse_http_requests_total', help: 'HTTP requests by route and status' },
    histogram: { name: 'gatehouse_http_request_duration_seconds', help: 'HTTP request latency by route and status' },
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
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

/** The label set of one HTTP series, in the order prom-client was given it. */
export interface RequestLabels {
  method: string;
  route: string;
  status: string;
}

/** One series: its requests, the sum of their seconds, and how many fell in each bucket (not cumulative). */
export interface RequestSeries {
  readonly labels: RequestLabels;
  count: number;
  sum: number;
  readonly inBucket: number[];
}

/**
 * The request counter and latency histogram, kept as one record per label set that the caller finds once and
 * updates with `observe`. prom-client's Counter and Histogram hash and validate the labels and look the series
 * up again on every call (about 2 µs of every request); these give the registry the same two metrics, series
 * for series and byte for byte (test/metrics.test.ts compares them with prom-client's own on the same requests).
 * They implement what prom-client's Registry reads of a metric: `name`, `help`, `type`, `aggregator`, `get()`
 * (and for the histogram `getForPromString()`, which the text exposition prefers), `reset()`.
 */
export class RequestMetrics {
  private readonly series = new Map<string, RequestSeries>();
  private readonly bounds: readonly number[];

  constructor(registry: Registry, options: { counter: { name: string; help: string }; histogram: { name: string; help: string }; buckets: number[] }) {
    this.bounds = [...options.buckets].sort((a, b) => a - b);
    const all = () => [...this.series.values()];
    const bounds = this.bounds;
    const counter = options.counter;
    const histogram = options.histogram;
    const reset = () => this.series.clear();
    registry.registerMetric({
      name: counter.name,
      help: counter.help,
      type: 'counter',
      aggregator: 'sum',
      reset,
      async get() {
        return { name: counter.name, help: counter.help, type: 'counter', aggregator: 'sum', values: all().map((s) => ({ value: s.count, labels: s.labels })) };
      },
    } as never);
    // prom-client's Histogram.getForPromString: per series, the cumulative buckets with `le` as their own label
    // and the series' labels as shared ones, then +Inf, the sum and the count.
    const forPromString = () => {
      const values: { labels: Record<string, string | number>; sharedLabels: RequestLabels; value: number; metricName: string; exemplar?: null }[] = [];
      for (const s of all()) {
        let cumulative = 0;
        bounds.forEach((le, i) => {
          cumulative += s.inBucket[i]!;
          values.push({ labels: { le }, sharedLabels: s.labels, value: cumulative, metricName: `${histogram.name}_bucket`, exemplar: null });
        });
        values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: `${histogram.name}_bucket`, exemplar: null });
        values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${histogram.name}_sum`, exemplar: undefined });
        values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${histogram.name}_count`, exemplar: undefined });
      }
      return { name: histogram.name, help: histogram.help, type: 'histogram', values, aggregator: 'sum' };
    };
    registry.registerMetric({
      name: histogram.name,
      help: histogram.help,
      type: 'histogram',
      aggregator: 'sum',
      reset,
      async getForPromString() {
        return forPromString();
      },
      async get() {
        const data = forPromString();
        return { ...data, values: data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })) };
      },
    } as never);
  }

  /** The series of one label set, made on first use: keep it, it stays the same object. */
  seriesOf(method: string, route: string, status: string): RequestSeries {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      series = { labels: { method, route, status }, count: 0, sum: 0, inBucket: this.bounds.map(() => 0) };
      this.series.set(key, series);
    }
    return series;
  }

  /** One request of `seconds`; a value above every bucket counts in +Inf (the count) only, as in prom-client. */
  observe(series: RequestSeries, seconds: number): void {
    if (!Number.isFinite(seconds)) return;
    series.count += 1;
    series.sum += seconds;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        series.inBucket[i]! += 1;
        return;
      }
    }
  }
}
