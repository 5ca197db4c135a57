// Revocations pushed by Gatehouse: it publishes each revoked session id on `<prefix>revocations` (Redis
// pub/sub, or PostgreSQL NOTIFY when it has no Redis) as JSON `{"v":1,"sid":"…","until":<ms epoch>}`. The
// verifier keeps those sids in a local map until `until` and refuses their tokens without a lookup.
//
// The bound: while subscribed, a revoked token is refused as soon as the message arrives (a few ms on a LAN).
// While the subscription is down, every token goes to the fallback check (Redis `rev:<sid>` or introspection)
// as without push. After a (re)connect nothing is missed: on Redis the verifier re-reads every `rev:<sid>` key
// before it trusts its map again; on PostgreSQL (no such set to read) tokens issued before the subscription
// came up keep going to the fallback (introspection) until they expire.
import { redisRevocation, type IntrospectRevocationOptions, type RevocationCheck } from './revocation.ts';
import type { AccessTokenClaims } from './verify-signed-token.ts';

export interface PushedRevocationEvents {
  /** A message's payload, as published. */
  message(payload: string): void;
  /** Subscribed again; `revoked` is the whole current set if the backend can list it, else null. */
  up(revoked: ReadonlyMap<string, number> | null): void;
  down(): void;
}

export interface PostgresRevocationOptions {
  /** Gatehouse's DATABASE_URL (a role that may LISTEN is enough). Needs the `pg` package. */
  url: string;
  /** Gatehouse's Redis key prefix, which also names the channel (`<prefix>revocations`). Default `gh:`. */
  prefix?: string;
  /** Checks tokens while the subscription is down, and tokens older than it. */
  introspect: IntrospectRevocationOptions;
}

/** Margin for the clock difference between Gatehouse (`iat`) and this process. */
const SKEW_MS = 5000;
const RECONNECT_MS = 500;

export const revocationChannel = (prefix: string) => `${prefix}revocations`;

/** The local set, the fallback and the rule that decides which one answers. */
export function pushedRevocation(
  start: (events: PushedRevocationEvents) => { close(): Promise<void> },
  fallback: RevocationCheck,
  now: () => number,
): RevocationCheck & { readonly subscribed: boolean } {
  const revoked = new Map<string, number>();
  let up = false;
  // Tokens issued (iat) after this are covered by the map; older ones go to the fallback.
  let coveredSince = Infinity;
  let adds = 0;

  const remember = (sid: string, until: number) => {
    if (until <= now()) return;
    revoked.set(sid, Math.max(until, revoked.get(sid) ?? 0));
    adds += 1;
    if (adds % 1000 === 0) for (const [id, t] of revoked) if (t <= now()) revoked.delete(id);
  };

  const subscription = start({
    message(payload) {
      try {
        const { sid, until } = JSON.parse(payload) as { sid?: unknown; until?: unknown };
        if (typeof sid === 'string' && typeof until === 'number') remember(sid, until);
      } catch {
        // Not ours: ignore.
      }
    },
    up(all) {
      if (all) for (const [sid, until] of all) remember(sid, until);
      coveredSince = all ? -Infinity : now();
      up = true;
    },
    down() {
      up = false;
    },
  });

  return {
    get subscribed() {
      return up;
    },
    async isRevoked(claims: AccessTokenClaims, token: string) {
      const until = revoked.get(claims.sid);
      if (until !== undefined) {
        if (until > now()) return true;
        revoked.delete(claims.sid);
      }
      if (up && claims.iat * 1000 > coveredSince + SKEW_MS) return false;
      return fallback.isRevoked(claims, token);
    },
    async close() {
      await subscription.close();
      await fallback.close();
    },
  };
}

interface IoRedis {
  on(event: string, listener: (...args: any[]) => void): unknown;
  subscribe(channel: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
  scan(cursor: string, ...args: (string | number)[]): Promise<[string, string[]]>;
  pttl(key: string): Promise<number>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** Push over Redis pub/sub, with `rev:<sid>` lookups as the fallback and a SCAN of them on each (re)connect. */
export function redisPushedRevocation(options: { url: string; prefix?: string; timeoutMs?: number }, now: () => number): RevocationCheck {
  const prefix = options.prefix ?? 'gh:';
  const timeoutMs = options.timeoutMs ?? 1000;
  const channel = revocationChannel(prefix);
  const clients = import('ioredis').then(({ Redis }) => {
    const make = (extra: object) => new Redis(options.url, { maxRetriesPerRequest: 1, connectTimeout: timeoutMs * 2, ...extra }) as unknown as IoRedis;
    const command = make({ commandTimeout: timeoutMs });
    const subscriber = make({ autoResubscribe: false, retryStrategy: (n: number) => Math.min(n * 100, 2000) });
    command.on('error', () => {});
    subscriber.on('error', () => {});
    return { command, subscriber };
  });
  const lazyClient = { get: async (key: string) => (await clients).command.get(key) };
  const fallback = redisRevocation({ client: lazyClient, prefix, timeoutMs });

  async function listRevoked(command: IoRedis): Promise<Map<string, number>> {
    const all = new Map<string, number>();
    let cursor = '0';
    do {
      const [next, keys] = await command.scan(cursor, 'MATCH', `${prefix}rev:*`, 'COUNT', 1000);
      cursor = next;
      const ttls = await Promise.all(keys.map((key) => command.pttl(key)));
      keys.forEach((key, i) => {
        if (ttls[i]! > 0) all.set(key.slice(`${prefix}rev:`.length), now() + ttls[i]!);
      });
    } while (cursor !== '0');
    return all;
  }

  return pushedRevocation(
    (events) => {
      let closed = false;
      void clients.then(({ command, subscriber }) => {
        if (closed) return;
        subscriber.on('message', (ch: string, payload: string) => {
          if (ch === channel) events.message(payload);
        });
        subscriber.on('close', () => events.down());
        subscriber.on('ready', () => {
          // Subscribe first, then read the set: a revocation between the two is in one or the other.
          subscriber
            .subscribe(channel)
            .then(() => listRevoked(command))
            .then((all) => events.up(all))
            .catch(() => events.down());
        });
      });
      return {
        async close() {
          closed = true;
          const { command, subscriber } = await clients;
          await Promise.all([command, subscriber].map((c) => c.quit().catch(() => c.disconnect())));
        },
      };
    },
    { isRevoked: (claims, token) => fallback.isRevoked(claims, token), close: async () => {} },
    now,
  );
}

interface PgClient {
  on(event: string, listener: (...args: any[]) => void): unknown;
  connect(): Promise<unknown>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

/** Push over PostgreSQL LISTEN, with introspection as the fallback. */
export function postgresPushedRevocation(options: PostgresRevocationOptions, fallback: RevocationCheck, now: () => number): RevocationCheck {
  const channel = revocationChannel(options.prefix ?? 'gh:');
  return pushedRevocation(
    (events) => {
      let closed = false;
      let client: PgClient | null = null;
      let timer: NodeJS.Timeout | undefined;
      const connect = async () => {
        if (closed) return;
        const { default: pg } = (await import('pg')) as unknown as { default: { Client: new (o: object) => PgClient } };
        const c = new pg.Client({ connectionString: options.url, connectionTimeoutMillis: 2000 });
        client = c;
        let lost = false;
        const retry = () => {
          if (lost) return;
          lost = true;
          events.down();
          c.end().catch(() => {});
          if (!closed) timer = setTimeout(() => void connect(), RECONNECT_MS);
        };
        c.on('error', retry);
        c.on('end', retry);
        c.on('notification', (n: { channel: string; payload?: string }) => {
          if (n.channel === channel && n.payload) events.message(n.payload);
        });
        try {
          await c.connect();
          await c.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
          if (!lost) events.up(null);
        } catch {
          retry();
        }
      };
      void connect();
      return {
        async close() {
          closed = true;
          clearTimeout(timer);
          await client?.end().catch(() => {});
        },
      };
    },
    fallback,
    now,
  );
}
