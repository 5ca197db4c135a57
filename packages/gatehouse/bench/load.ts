// The load generator, run by bench/run.ts in a child process of its own: autocannon parses every response
// in JavaScript, and sharing the server's event loop (or its CPU time) would bend the numbers it measures.
// It receives one LoadJob over IPC, runs an optional warm-up and then the measured run, and sends back
// a LoadResult.
import autocannon from 'autocannon';
import { runPasskeyJob, type PasskeyLoad } from './passkey-load.ts';

export interface StaticRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadJob {
  url: string;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** Cycled by each connection, each starting at a different offset (login: one request per user). */
  requests?: StaticRequest[];
  /**
   * Refresh-token rotation: one live refresh token per connection for the warm-up and one per connection
   * for the measured run. Each connection presents the token it last received.
   */
  refresh?: { path: string; warmupTokens: string[]; tokens: string[] };
  /**
   * Single-use requests (an MFA verify: each ticket and each TOTP step works once): every body is sent
   * exactly once, in order, whichever connection is free takes the next one. The run is a fixed number of
   * requests (the pool's size) rather than a duration; its rate is what it took.
   */
  pool?: { path: string; warmupBodies: string[]; bodies: string[] };
  /**
   * Passkey sign-ins (bench/passkey-load.ts): each connection runs options then login with its own accounts'
   * credentials, signing every assertion over its fresh challenge. perSecond is then sign-ins per second.
   */
  passkey?: PasskeyLoad;
  /** Seconds before autocannon gives up on one response (its default is 10; password hashing peers need more). */
  timeoutSeconds?: number;
}

export interface LoadResult {
  /** 200 responses per second of the measured run: only those count. */
  perSecond: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  statusCodes: Record<string, number>;
  latencyMs: { p50: number; p99: number };
  /** Refresh runs: connections whose session stopped working (a non-200 left them without a live token). */
  deadSessions?: number;
  /** Passkey runs: completed sign-ins (each two requests), refused logins, requests sent, accounts used. */
  signIns?: { completed: number; refused: number; requests: number; accounts: number };
}

/** Spreads connections over the request list so that eight connections do not all log in one user at once. */
function staticClients(requests: StaticRequest[]): (client: autocannon.Client) => void {
  let next = 0;
  return (client) => {
    const offset = next++ % requests.length;
    client.setRequests([...requests.slice(offset), ...requests.slice(0, offset)]);
  };
}

/**
 * Gives every connection its own session. The token lives in this closure rather than in autocannon's
 * per-request `context`, because autocannon resets that context each time it wraps around the request list
 * (every request, with a list of one).
 */
function refreshClients(path: string, tokens: string[], dead: Set<number>): (client: autocannon.Client) => void {
  let next = 0;
  return (client) => {
    const index = next++;
    const token = tokens[index];
    if (token === undefined) throw new Error(`no refresh token for connection ${index}`);
    const session = { token };
    client.setRequests([
      {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ refreshToken: session.token }) }),
        onResponse: (status, body) => {
          if (status === 200) session.token = (JSON.parse(body) as { refreshToken: string }).refreshToken;
          else dead.add(index);
        },
      },
    ]);
  };
}

/** Every connection sends the pool's next unsent body: one shared cursor, so no body goes twice. */
function poolClients(path: string, bodies: string[]): (client: autocannon.Client) => void {
  let next = 0;
  return (client) => {
    client.setRequests([
      {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: bodies[next++] ?? '{}' }),
      },
    ]);
  };
}

async function firePool(job: LoadJob, bodies: string[]): Promise<autocannon.Result> {
  return autocannon({
    url: job.url,
    connections: job.connections,
    amount: bodies.length,
    requests: [{ method: 'GET', path: '/' }],
    setupClient: poolClients(job.pool!.path, bodies),
    ...(job.timeoutSeconds ? { timeout: job.timeoutSeconds } : {}),
  });
}

async function fire(job: LoadJob, seconds: number, tokens: string[] | null, dead: Set<number>): Promise<autocannon.Result> {
  const setupClient = tokens ? refreshClients(job.refresh!.path, tokens, dead) : staticClients(job.requests!);
  return autocannon({
    url: job.url,
    connections: job.connections,
    duration: seconds,
    // A placeholder: setupClient replaces it on every connection before the first request is sent.
    requests: [{ method: 'GET', path: '/' }],
    setupClient,
    ...(job.timeoutSeconds ? { timeout: job.timeoutSeconds } : {}),
  });
}

function summarise(result: autocannon.Result, dead: Set<number> | null): LoadResult {
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  const ok = statusCodes['200'] ?? 0;
  return {
    perSecond: ok / result.duration,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    statusCodes,
    // autocannon records latencies of 2xx responses only.
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    ...(dead ? { deadSessions: dead.size } : {}),
  };
}

export async function runJob(job: LoadJob): Promise<LoadResult> {
  if (job.passkey) return runPasskeyJob(job);
  if (job.pool) {
    if (job.pool.warmupBodies.length > 0) await firePool(job, job.pool.warmupBodies);
    return summarise(await firePool(job, job.pool.bodies), null);
  }
  if (job.warmupSeconds > 0) await fire(job, job.warmupSeconds, job.refresh?.warmupTokens ?? null, new Set());
  const dead = new Set<number>();
  const result = await fire(job, job.seconds, job.refresh?.tokens ?? null, dead);
  return summarise(result, job.refresh ? dead : null);
}

// Started by run.ts with fork(): one job in, one result out, then exit.
if (process.send) {
  process.once('message', (job: LoadJob) => {
    runJob(job).then(
      (result) => process.send!({ result }, () => process.disconnect()),
      (err: Error) => process.send!({ error: err.stack ?? String(err) }, () => process.disconnect()),
    );
  });
}
