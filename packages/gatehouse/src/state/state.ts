// Short-lived state that every instance must share: rate-limit counters, the revocation set and one-time
// codes. In memory for one process; in Redis when REDIS_URL is set.
export interface Counter {
  count: number;
  /** Milliseconds until the window ends. */
  resetInMs: number;
}

export interface SharedState {
  /** Adds one to a fixed-window counter, starting the window on the first hit. */
  hit(key: string, windowMs: number): Promise<Counter>;
  /** Reads a counter without adding to it; null when no window is open. */
  peek(key: string): Promise<Counter | null>;
  put(key: string, value: string, ttlMs: number): Promise<void>;
  get(key: string): Promise<string | null>;
  /** Reads and deletes in one step: a one-time code can be taken once, however many callers race. */
  take(key: string): Promise<string | null>;
  delete(key: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * For stores that can come back empty (Redis restarted without persistence): `refill` runs after every
   * reconnection, and reads wait for it, so nothing that was in the store (the revocation set) goes missing.
   */
  onReconnect?(refill: () => Promise<unknown>): void;
}

/** The shared store could not be reached: a 503 for the client, never a 500 and never a guess. */
export class StateUnavailableError extends Error {
  readonly code = 'STATE_UNAVAILABLE';
  constructor(cause: unknown) {
    super(`shared state unreachable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StateUnavailableError';
  }
}
