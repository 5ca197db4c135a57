// Cross-tab refresh for cookie mode. Every tab of one origin presents the same rotating HttpOnly refresh
// cookie, so N tabs whose access token expired would send N refreshes of one token. Tabs elect one refresher
// (Web Locks where the browser has them, a BroadcastChannel election otherwise) and the refresher broadcasts
// the new access token on a BroadcastChannel, which only pages of this same origin can hear.
// Gatehouse's REFRESH_REUSE_GRACE stays the backstop if an election ever yields two refreshers.

export interface SharedToken {
  accessToken: string;
  user: unknown;
  /** Date.now() when Gatehouse issued it (as seen by the tab that refreshed): newer wins across tabs. */
  obtainedAt: number;
}

export interface TabHooks {
  current(): SharedToken | null;
  adopt(token: SharedToken): void;
  ended(reason: string, sid: string | null): void;
}

type Message =
  | { t: 'token'; token: SharedToken }
  | { t: 'ask'; after: number; stale: string | null }
  | { t: 'ended'; reason: string; sid: string | null }
  | { t: 'claim'; id: string; at: number }
  | { t: 'refreshing'; id: string }
  | { t: 'done'; id: string };

/** How long a tab waits for another tab to answer "has anyone a fresher token?". */
const ASK_MS = 50;
/** How long a BroadcastChannel election collects claims before the earliest claim wins. */
const ELECT_MS = 100;
/** How long a tab waits on another tab's refresh before it refreshes itself. */
const WAIT_MS = 15_000;

interface LockManager {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export class TabRefresh {
  readonly #channel: BroadcastChannel;
  readonly #lockName: string;
  readonly #locks: LockManager | null;
  readonly #hooks: TabHooks;
  readonly #id = Math.random().toString(36).slice(2) + Date.now().toString(36);
  readonly #claims = new Map<string, number>();
  #remote: { id: string; since: number } | null = null;
  #endedCount = 0;
  #waiters = new Set<() => void>();

  constructor(key: string, hooks: TabHooks) {
    this.#hooks = hooks;
    this.#lockName = `gatehouse-refresh:${key}`;
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
    this.#locks = typeof locks?.request === 'function' ? locks : null;
    this.#channel = new BroadcastChannel(`gatehouse-client:${key}`);
    this.#channel.onmessage = (event: MessageEvent<Message>) => this.#receive(event.data);
  }

  /** True when this tab can use a Web Lock (else it elects over the BroadcastChannel). */
  get usesLocks(): boolean {
    return this.#locks !== null;
  }

  /**
   * Ends with this tab holding a token newer than `stale`: adopted from another tab, or by running
   * `refresh` as the elected tab. Resolves to what `refresh` resolves to, or true when a token was adopted.
   */
  async run(refresh: () => Promise<boolean>): Promise<boolean> {
    const before = this.#hooks.current();
    const stale = before?.accessToken ?? null;
    const after = before?.obtainedAt ?? 0;
    const ended = this.#endedCount;
    if (this.#locks) {
      return this.#locks.request(this.#lockName, async () => {
        if (this.#fresh(stale)) return true;
        if (this.#endedCount !== ended) return false;
        // The last holder posted its token before releasing, but that message and this lock grant
        // travel different ways; ask, briefly, before refreshing the same cookie again.
        if (await this.#ask(stale, after)) return true;
        return this.#refreshAsElected(refresh);
      });
    }
    return this.#elect(stale, after, ended, refresh);
  }

  publish(token: SharedToken): void {
    this.#post({ t: 'token', token });
  }

  publishEnded(reason: string, sid: string | null): void {
    this.#post({ t: 'ended', reason, sid });
  }

  close(): void {
    this.#channel.close();
  }

  async #elect(stale: string | null, after: number, ended: number, refresh: () => Promise<boolean>): Promise<boolean> {
    if (this.#fresh(stale) || (await this.#ask(stale, after))) return true;
    for (let round = 0; round < 3; round += 1) {
      if (this.#endedCount !== ended) return false;
      if (this.#remoteRefreshing()) {
        await this.#waitFor(() => this.#fresh(stale) || this.#endedCount !== ended || !this.#remoteRefreshing(), WAIT_MS);
        if (this.#fresh(stale)) return true;
        continue;
      }
      const at = Date.now();
      this.#claims.set(this.#id, at);
      this.#post({ t: 'claim', id: this.#id, at });
      await this.#waitFor(() => this.#fresh(stale), ELECT_MS);
      if (this.#fresh(stale)) return this.#withdraw(true);
      if (this.#remoteRefreshing()) {
        this.#withdraw(false);
        continue;
      }
      const winner = this.#winner();
      if (winner === this.#id) return this.#refreshAsElected(refresh);
      // Another tab won: wait for its token, its failure or its silence.
      await this.#waitFor(() => this.#fresh(stale) || this.#endedCount !== ended || !this.#claims.has(winner ?? ''), WAIT_MS);
      this.#withdraw(false);
      if (this.#fresh(stale)) return true;
    }
    return this.#refreshAsElected(refresh);
  }

  async #refreshAsElected(refresh: () => Promise<boolean>): Promise<boolean> {
    this.#post({ t: 'refreshing', id: this.#id });
    try {
      return await refresh();
    } finally {
      this.#claims.delete(this.#id);
      this.#post({ t: 'done', id: this.#id });
    }
  }

  #withdraw(result: boolean): boolean {
    this.#claims.delete(this.#id);
    this.#post({ t: 'done', id: this.#id });
    return result;
  }

  #winner(): string | null {
    let best: [string, number] | null = null;
    const now = Date.now();
    for (const [id, at] of this.#claims) {
      if (now - at > WAIT_MS) this.#claims.delete(id);
      else if (!best || at < best[1] || (at === best[1] && id < best[0])) best = [id, at];
    }
    return best?.[0] ?? null;
  }

  #remoteRefreshing(): boolean {
    return this.#remote !== null && Date.now() - this.#remote.since < WAIT_MS;
  }

  #fresh(stale: string | null): boolean {
    const token = this.#hooks.current()?.accessToken ?? null;
    return token !== null && token !== stale;
  }

  async #ask(stale: string | null, after: number): Promise<boolean> {
    this.#post({ t: 'ask', after, stale });
    await this.#waitFor(() => this.#fresh(stale), ASK_MS);
    return this.#fresh(stale);
  }

  #waitFor(done: () => boolean, ms: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (done()) finish();
      };
      const timer = setTimeout(finish, ms);
      this.#waiters.add(check);
    });
  }

  #post(message: Message): void {
    this.#channel.postMessage(message);
  }

  #receive(message: Message): void {
    switch (message?.t) {
      case 'token': {
        const mine = this.#hooks.current();
        if (message.token.accessToken !== mine?.accessToken && message.token.obtainedAt > (mine?.obtainedAt ?? 0)) this.#hooks.adopt(message.token);
        break;
      }
      case 'ask': {
        const mine = this.#hooks.current();
        if (mine && mine.accessToken !== message.stale && mine.obtainedAt > message.after && !expired(mine.accessToken)) this.publish(mine);
        break;
      }
      case 'ended':
        this.#endedCount += 1;
        this.#hooks.ended(message.reason, message.sid);
        break;
      case 'claim':
        this.#claims.set(message.id, message.at);
        break;
      case 'refreshing':
        this.#remote = { id: message.id, since: Date.now() };
        break;
      case 'done':
        this.#claims.delete(message.id);
        if (this.#remote?.id === message.id) this.#remote = null;
        break;
      default:
        return;
    }
    for (const check of [...this.#waiters]) check();
  }
}

/** The JWT's claims, read without verifying (only to compare sessions and expiry between tabs). */
export function claimsOf(token: string | null): { sid?: string; exp?: number } {
  if (!token) return {};
  try {
    const part = token.split('.')[1] ?? '';
    return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { sid?: string; exp?: number };
  } catch {
    return {};
  }
}

function expired(token: string): boolean {
  const { exp } = claimsOf(token);
  return typeof exp === 'number' && exp * 1000 <= Date.now();
}

/** Cross-tab refresh runs only in a page (Node keeps its in-process single flight, unchanged). */
export function canShareAcrossTabs(): boolean {
  const g = globalThis as { document?: unknown; BroadcastChannel?: unknown };
  return typeof g.document === 'object' && g.document !== null && typeof g.BroadcastChannel === 'function';
}
