// A bounded mixed load of virtual users over real HTTP, with a ledger of every answer: what the server
// acknowledged is what the store must hold afterwards.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { storedFacts } from './integrity.ts';

export const PASSWORD = 'correct horse battery staple';
const REQUEST_TIMEOUT_MS = 15_000;

export type Outcome = number | 'timeout' | 'network';

export interface Answer {
  status: Outcome;
  body: any;
  startedAt: number;
  endedAt: number;
}

export interface LoadStats {
  /** `METHOD /path status` -> count. */
  histogram: Map<string, number>;
  /** Every answer, in order, when kept (for outage windows). */
  timeline: { route: string; status: Outcome; code?: string; startedAt: number; endedAt: number }[];
  requests: number;
}

export function newStats(): LoadStats {
  return { histogram: new Map(), timeline: [], requests: 0 };
}

export async function send(stats: LoadStats, base: string, method: string, route: string, options: { body?: unknown; token?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const startedAt = Date.now();
  let status: Outcome;
  let body: any = null;
  try {
    const res = await fetch(base + route, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    status = res.status;
    const text = await res.text();
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
  } catch (err) {
    status = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network';
    // The server is down (killed, restarting): back off instead of spinning on refused connections.
    await sleep(100);
  }
  const endedAt = Date.now();
  const key = `${method} ${route.replace(/\?.*/, '')} ${status}`;
  stats.histogram.set(key, (stats.histogram.get(key) ?? 0) + 1);
  stats.timeline.push({ route: `${method} ${route}`, status, code: body?.error?.code, startedAt, endedAt });
  stats.requests++;
  return { status, body, startedAt, endedAt };
}

export function claimsOf(accessToken: string): { sub: string; sid: string; kid?: string } {
  const [header, payload] = accessToken.split('.');
  return { ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), kid: JSON.parse(Buffer.from(header!, 'base64url').toString()).kid };
}

/** One account as the load saw it. */
export interface Account {
  email: string;
  /** 'ack': 201; 'refused': a definite non-201; 'unknown': no answer (timeout, reset), it may have landed. */
  registered: 'ack' | 'refused' | 'unknown';
  live: { sid: string; accessToken: string; refreshToken: string } | null;
  /** The token pair held when an acknowledged logout ended each session. */
  loggedOut: { sid: string; accessToken: string; refreshToken: string }[];
  /** A refresh whose answer never came: the session's token state is unknown, so the session is dropped. */
  abandoned: string[];
}

export interface Ledger {
  accounts: Account[];
  /** Answers that contradict an earlier acknowledgement (e.g. a rotated token refused), with a note. */
  anomalies: string[];
}

export interface LoadOptions {
  /** Base URLs; requests go round-robin across them. */
  targets: () => string[];
  users: number;
  durationMs: number;
  stats: LoadStats;
  ledger: Ledger;
  /** Stop early when this resolves. */
  until?: Promise<unknown>;
  /** Called with every access token the load receives (for verifiers). */
  onAccessToken?: (token: string) => void;
  /** Skip the argon2-bound operations (register, login) after the first account. */
  light?: boolean;
  /** Pause between requests of one user, ms. */
  thinkMs?: number;
}

export function newLedger(): Ledger {
  return { accounts: [], anomalies: [] };
}

const tag = randomBytes(3).toString('hex');
let sequence = 0;

function unreachable(status: Outcome): boolean {
  return status === 'timeout' || status === 'network';
}

/**
 * Each virtual user registers, then loops: mostly GET /auth/me and refreshes (cheap), sometimes a logout followed
 * by a login (argon2-bound), now and then a new account. Returns when the duration is over.
 */
export async function runLoad(options: LoadOptions): Promise<void> {
  const { stats, ledger } = options;
  let rr = 0;
  const target = () => {
    const all = options.targets();
    return all[rr++ % all.length]!;
  };
  let stop = false;
  const deadline = Date.now() + options.durationMs;
  const timer = setTimeout(() => (stop = true), options.durationMs);
  options.until?.then(() => (stop = true));
  const done = () => stop || Date.now() >= deadline;

  async function newAccount(): Promise<Account> {
    const account: Account = { email: `chaos-${tag}-${sequence++}@example.com`, registered: 'unknown', live: null, loggedOut: [], abandoned: [] };
    ledger.accounts.push(account);
    const res = await send(stats, target(), 'POST', '/auth/register', { body: { email: account.email, password: PASSWORD } });
    if (res.status === 201) {
      account.registered = 'ack';
      adopt(account, res.body);
    } else if (!unreachable(res.status)) account.registered = 'refused';
    return account;
  }

  function adopt(account: Account, body: any): void {
    const { sid } = claimsOf(body.accessToken);
    account.live = { sid, accessToken: body.accessToken, refreshToken: body.refreshToken };
    options.onAccessToken?.(body.accessToken);
  }

  async function virtualUser(): Promise<void> {
    let account = await newAccount();
    while (!done()) {
      if (options.thinkMs) await sleep(options.thinkMs);
      if (account.registered === 'refused' || (account.registered === 'unknown' && !account.live)) {
        if (options.light && ledger.accounts.some((a) => a.registered === 'ack')) {
          account = ledger.accounts.find((a) => a.registered === 'ack' && a.live) ?? account;
          if (!account.live) await sleep(200);
          continue;
        }
        await sleep(50);
        account = await newAccount();
        continue;
      }
      if (!account.live) {
        if (options.light) {
          await sleep(200);
          continue;
        }
        const res = await send(stats, target(), 'POST', '/auth/login', { body: { email: account.email, password: PASSWORD } });
        if (res.status === 200) adopt(account, res.body);
        else await sleep(50);
        continue;
      }
      const roll = Math.random();
      const live = account.live;
      if (roll < 0.5) {
        const res = await send(stats, target(), 'GET', '/auth/me', { token: live.accessToken });
        if (res.status === 401) ledger.anomalies.push(`GET /auth/me 401 ${res.body?.error?.code} for a live session ${live.sid}`);
      } else if (roll < 0.88 || options.light) {
        let res = await send(stats, target(), 'POST', '/auth/refresh', { body: { refreshToken: live.refreshToken } });
        // No answer: the rotation may have happened. Within the reuse grace the same token yields the same successor.
        if (unreachable(res.status)) res = await send(stats, target(), 'POST', '/auth/refresh', { body: { refreshToken: live.refreshToken } });
        if (res.status === 200) adopt(account, res.body);
        else if (res.status === 401) {
          ledger.anomalies.push(`POST /auth/refresh 401 ${res.body?.error?.code} for the latest acknowledged token of ${live.sid}`);
          account.live = null;
        } else if (unreachable(res.status)) {
          account.abandoned.push(live.sid);
          account.live = null;
        }
      } else if (roll < 0.96) {
        const res = await send(stats, target(), 'POST', '/auth/logout', { token: live.accessToken });
        if (res.status === 204) {
          account.loggedOut.push(live);
          account.live = null;
          // Refused at once, by whichever instance answers next.
          const after = await send(stats, target(), 'GET', '/auth/me', { token: live.accessToken });
          // Accepted would be the failure; no answer (a killed server) or 503 (an outage) refuses nothing, wrongly or not.
          if (typeof after.status === 'number' && after.status < 400) {
            ledger.anomalies.push(`GET /auth/me ${after.status} right after an acknowledged logout of ${live.sid}`);
          }
        } else if (unreachable(res.status)) {
          account.abandoned.push(live.sid);
          account.live = null;
        }
      } else if (!options.light) {
        account = await newAccount();
      }
    }
  }

  await Promise.all(Array.from({ length: options.users }, () => virtualUser()));
  clearTimeout(timer);
}

export interface LedgerReport {
  acknowledged: number;
  refused: number;
  unknown: number;
  missing: string[];
  duplicated: string[];
  /** Users in the store whose register got a definite refusal. */
  unacknowledged: string[];
  /** Users in the store the load never asked for. */
  strangers: string[];
  /** Acknowledged logouts whose session is not revoked in the store. */
  unrevoked: string[];
  unknownLanded: number;
}

/** Compares the ledger with what the store holds. */
export async function checkLedger(databaseUrl: string, ledger: Ledger): Promise<LedgerReport> {
  const facts = await storedFacts(databaseUrl);
  const report: LedgerReport = { acknowledged: 0, refused: 0, unknown: 0, missing: [], duplicated: [], unacknowledged: [], strangers: [], unrevoked: [], unknownLanded: 0 };
  const byEmail = new Map(ledger.accounts.map((a) => [a.email, a]));
  for (const account of ledger.accounts) {
    const stored = facts.users.get(account.email) ?? 0;
    report[account.registered === 'ack' ? 'acknowledged' : account.registered]++;
    if (stored > 1) report.duplicated.push(account.email);
    if (account.registered === 'ack' && stored !== 1) report.missing.push(account.email);
    if (account.registered === 'refused' && stored > 0) report.unacknowledged.push(account.email);
    if (account.registered === 'unknown' && stored > 0) report.unknownLanded++;
    for (const out of account.loggedOut) if (!facts.sessions.get(out.sid)?.revoked) report.unrevoked.push(out.sid);
  }
  for (const email of facts.users.keys()) if (!byEmail.has(email)) report.strangers.push(email);
  return report;
}

/** After the load: the latest token of every live session still refreshes; logged-out ones never do. */
export async function checkTokens(stats: LoadStats, base: string, ledger: Ledger, sample = 200): Promise<{ liveChecked: number; liveRefused: string[]; endedChecked: number; endedAccepted: string[] }> {
  const live = ledger.accounts.filter((a) => a.live).slice(0, sample);
  const ended = ledger.accounts.flatMap((a) => a.loggedOut).slice(0, sample);
  const liveRefused: string[] = [];
  const endedAccepted: string[] = [];
  for (const account of live) {
    const res = await send(stats, base, 'POST', '/auth/refresh', { body: { refreshToken: account.live!.refreshToken } });
    if (res.status !== 200) liveRefused.push(`${account.live!.sid}: ${res.status} ${res.body?.error?.code ?? ''}`);
    else account.live = { sid: account.live!.sid, accessToken: res.body.accessToken, refreshToken: res.body.refreshToken };
  }
  for (const out of ended) {
    const refresh = await send(stats, base, 'POST', '/auth/refresh', { body: { refreshToken: out.refreshToken } });
    const me = await send(stats, base, 'GET', '/auth/me', { token: out.accessToken });
    if (refresh.status !== 401 || me.status !== 401) endedAccepted.push(`${out.sid}: refresh ${refresh.status}, me ${me.status}`);
  }
  return { liveChecked: live.length, liveRefused, endedChecked: ended.length, endedAccepted };
}

export function histogramTable(stats: LoadStats): string {
  return [...stats.histogram.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, n]) => `    ${key.padEnd(34)} ${String(n).padStart(7)}`)
    .join('\n');
}

export function statusTotals(stats: LoadStats): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const [key, n] of stats.histogram) {
    const status = key.split(' ').pop()!;
    totals[status] = (totals[status] ?? 0) + n;
  }
  return totals;
}

export const CHAOS_SECONDS = Number(process.env.CHAOS_SECONDS || 60);
