import { Redis } from 'ioredis';
import { StateUnavailableError, type Counter, type SharedState } from './state.ts';

/** Every command's failure means the same thing to a caller: Redis is not answering. */
function unavailable(err: unknown): never {
  throw new StateUnavailableError(err);
}

// INCR then set the expiry only when the window starts, in one round trip and atomically.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`;

const PEEK = `
local n = redis.call('GET', KEYS[1])
if not n then return nil end
return {tonumber(n), redis.call('PTTL', KEYS[1])}
`;

export class RedisState implements SharedState {
  private readonly redis: Redis;
  private connectedOnce = false;
  private refill: (() => Promise<unknown>) | null = null;
  /** A refill in progress, or one that failed and must succeed before the next read. */
  private refilling: Promise<void> | null = null;
  private refillPending = false;
  private refillFailedAt = 0;

  constructor(url: string, private readonly prefix = 'gh:') {
    this.redis = new Redis(url, {
      lazyConnect: false,
      // Fail a command quickly when Redis is down instead of queueing it without bound.
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 2000,
      commandTimeout: 2000,
    });
    // Errors surface on the commands; the connection event would otherwise crash the process.
    this.redis.on('error', () => {});
    // From the moment the connection drops, reads wait for a refill: a read queued during the outage must not
    // reach a Redis that came back empty before the revocations are back.
    this.redis.on('close', () => {
      if (this.connectedOnce && this.refill) this.refillPending = true;
    });
    this.redis.on('ready', () => {
      if (!this.connectedOnce) {
        this.connectedOnce = true;
        return;
      }
      // A reconnection: Redis may have restarted empty. Refill before answering reads again.
      if (this.refill) this.refillPending = true;
      this.refillFailedAt = 0;
      void this.refilled().catch(() => {});
    });
    this.redis.defineCommand('ghHit', { numberOfKeys: 1, lua: HIT });
    this.redis.defineCommand('ghPeek', { numberOfKeys: 1, lua: PEEK });
  }

  async hit(key: string, windowMs: number): Promise<Counter> {
    const [count, ttl] = (await (this.redis as any).ghHit(this.prefix + key, windowMs).catch(unavailable)) as [number, number];
    return { count, resetInMs: ttl };
  }

  async peek(key: string): Promise<Counter | null> {
    const result = (await (this.redis as any).ghPeek(this.prefix + key).catch(unavailable)) as [number, number] | null;
    return result ? { count: result[0], resetInMs: Math.max(result[1], 0) } : null;
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs))).catch(unavailable);
  }

  onReconnect(refill: () => Promise<unknown>): void {
    this.refill = refill;
  }

  /** Runs a pending refill once (callers share it); a failed one is tried again by the next read. */
  private refilled(): Promise<void> {
    if (!this.refillPending || !this.refill) return Promise.resolve();
    // While Redis is still down, say so at once rather than retrying the refill on every read.
    if (!this.refilling && Date.now() - this.refillFailedAt < 1000) return Promise.reject(new StateUnavailableError('refill pending'));
    this.refilling ??= this.refill().then(
      () => {
        this.refillPending = false;
        this.refilling = null;
      },
      (err: unknown) => {
        this.refilling = null;
        this.refillFailedAt = Date.now();
        throw new StateUnavailableError(err);
      },
    );
    return this.refilling;
  }

  async get(key: string): Promise<string | null> {
    await this.refilled();
    return this.redis.get(this.prefix + key).catch(unavailable);
  }

  async take(key: string): Promise<string | null> {
    await this.refilled();
    return this.redis.getdel(this.prefix + key).catch(unavailable);
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.prefix + key).catch(unavailable);
  }

  async ping(): Promise<void> {
    await this.redis.ping().catch(unavailable);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
