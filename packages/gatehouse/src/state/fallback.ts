import type { Logger } from '../context.ts';
import { MemoryState } from './memory.ts';
import type { Counter, SharedState } from './state.ts';

const RETRY_AFTER_MS = 1000;

/**
 * Rate-limit counters keep working when the shared store (Redis, or PostgreSQL without Redis) is down: `hit`,
 * `peek` and `delete` (counters are the only thing deleted) fall back to this process's own counters, so limits
 * still hold, per instance, instead of answering 503 or nothing at all. Everything else passes through and fails
 * closed: a revocation check or a one-time code that cannot be read is a 503, never a guess. While the store is
 * down, it is tried again once a second rather than on every request.
 */
export class LocalCounterFallback implements SharedState {
  private readonly local: MemoryState;
  private downUntil = 0;
  private degraded = false;

  constructor(
    private readonly shared: SharedState,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.local = new MemoryState(now);
  }

  /** True while counters are local because the shared store failed. */
  get usingLocalCounters(): boolean {
    return this.degraded;
  }

  private async counter<T>(shared: () => Promise<T>, local: () => Promise<T>): Promise<T> {
    if (this.degraded && Date.now() < this.downUntil) return local();
    try {
      const result = await shared();
      if (this.degraded) {
        this.degraded = false;
        this.log.info({ state: 'shared' }, 'shared state is back; rate limits are shared again');
      }
      return result;
    } catch (err) {
      this.downUntil = Date.now() + RETRY_AFTER_MS;
      if (!this.degraded) {
        this.degraded = true;
        this.log.warn({ state: 'local', failure: err instanceof Error ? err.message : String(err) }, 'shared state unreachable; rate limits use local counters');
      }
      return local();
    }
  }

  hit(key: string, windowMs: number): Promise<Counter> {
    return this.counter(
      () => this.shared.hit(key, windowMs),
      () => this.local.hit(key, windowMs),
    );
  }

  peek(key: string): Promise<Counter | null> {
    return this.counter(
      () => this.shared.peek(key),
      () => this.local.peek(key),
    );
  }

  async delete(key: string): Promise<void> {
    await this.local.delete(key);
    await this.counter(
      () => this.shared.delete(key),
      async () => {},
    );
  }

  put(key: string, value: string, ttlMs: number): Promise<void> {
    return this.shared.put(key, value, ttlMs);
  }

  get(key: string): Promise<string | null> {
    return this.shared.get(key);
  }

  take(key: string): Promise<string | null> {
    return this.shared.take(key);
  }

  onReconnect(refill: () => Promise<unknown>): void {
    this.shared.onReconnect?.(refill);
  }

  ping(): Promise<void> {
    return this.shared.ping();
  }

  async close(): Promise<void> {
    await this.local.close();
    await this.shared.close();
  }
}
