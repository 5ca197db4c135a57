import { Redis } from 'ioredis';
import type { Counter, SharedState } from './state.ts';

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
    this.redis.defineCommand('ghHit', { numberOfKeys: 1, lua: HIT });
    this.redis.defineCommand('ghPeek', { numberOfKeys: 1, lua: PEEK });
  }

  async hit(key: string, windowMs: number): Promise<Counter> {
    const [count, ttl] = (await (this.redis as any).ghHit(this.prefix + key, windowMs)) as [number, number];
    return { count, resetInMs: ttl };
  }

  async peek(key: string): Promise<Counter | null> {
    const result = (await (this.redis as any).ghPeek(this.prefix + key)) as [number, number] | null;
    return result ? { count: result[0], resetInMs: Math.max(result[1], 0) } : null;
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.prefix + key);
  }

  async take(key: string): Promise<string | null> {
    return this.redis.getdel(this.prefix + key);
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
