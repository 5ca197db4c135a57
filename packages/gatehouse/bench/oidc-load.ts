// The load generator of bench/oidc-token.ts, in a child process of its own (as bench/load.ts is for the JSON
// routes): autocannon against the OpenID provider's token endpoint, which speaks OAuth's form posts with
// HTTP Basic client authentication. Two kinds of job:
// - `pool`: single-use request bodies (a code exchange: each code works once), each sent exactly once, in
//   order, by whichever connection is free: a fixed number of requests rather than a duration;
// - `refresh`: one live refresh token per connection; each connection presents the token it last received
//   (rotation makes every token single-use), for a duration.
import autocannon from 'autocannon';

export interface OidcLoadJob {
  url: string;
  path: string;
  connections: number;
  /** `Basic …`: the client's id and secret. */
  authorization: string;
  pool?: { warmupBodies: string[]; bodies: string[] };
  refresh?: { warmupSeconds: number; seconds: number; warmupTokens: string[]; tokens: string[]; scope?: string };
}

export interface OidcLoadResult {
  perSecond: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  statusCodes: Record<string, number>;
  latencyMs: { p50: number; p99: number };
  /** Refresh runs: connections left without a live token after a non-200. */
  deadChains?: number;
  /** The first non-200 body seen, to say why. */
  firstError?: string;
}

const FORM = 'application/x-www-form-urlencoded';

function poolClients(job: OidcLoadJob, bodies: string[], failure: { body?: string }): (client: autocannon.Client) => void {
  let next = 0;
  return (client) => {
    client.setRequests([
      {
        method: 'POST',
        path: job.path,
        headers: { 'content-type': FORM, authorization: job.authorization },
        setupRequest: (request) => ({ ...request, body: bodies[next++] ?? '' }),
        onResponse: (status, body) => {
          if (status !== 200) failure.body ??= `${status} ${body}`;
        },
      },
    ]);
  };
}

function refreshClients(job: OidcLoadJob, tokens: string[], dead: Set<number>, failure: { body?: string }): (client: autocannon.Client) => void {
  let next = 0;
  return (client) => {
    const index = next++;
    const token = tokens[index];
    if (token === undefined) throw new Error(`no refresh token for connection ${index}`);
    const chain = { token };
    client.setRequests([
      {
        method: 'POST',
        path: job.path,
        headers: { 'content-type': FORM, authorization: job.authorization },
        setupRequest: (request) => ({ ...request, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: chain.token, ...(job.refresh?.scope ? { scope: job.refresh.scope } : {}) }).toString() }),
        onResponse: (status, body) => {
          if (status === 200) chain.token = (JSON.parse(body) as { refresh_token: string }).refresh_token;
          else {
            dead.add(index);
            failure.body ??= `${status} ${body}`;
          }
        },
      },
    ]);
  };
}

function summarise(result: autocannon.Result, failure: { body?: string }, dead: Set<number> | null): OidcLoadResult {
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
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    ...(dead ? { deadChains: dead.size } : {}),
    ...(failure.body ? { firstError: failure.body.slice(0, 300) } : {}),
  };
}

export async function runOidcJob(job: OidcLoadJob): Promise<OidcLoadResult> {
  const base = { url: job.url, connections: job.connections, requests: [{ method: 'GET' as const, path: '/' }] };
  if (job.pool) {
    if (job.pool.warmupBodies.length) await autocannon({ ...base, amount: job.pool.warmupBodies.length, setupClient: poolClients(job, job.pool.warmupBodies, {}) });
    const failure: { body?: string } = {};
    return summarise(await autocannon({ ...base, amount: job.pool.bodies.length, setupClient: poolClients(job, job.pool.bodies, failure) }), failure, null);
  }
  const refresh = job.refresh!;
  if (refresh.warmupSeconds > 0) await autocannon({ ...base, duration: refresh.warmupSeconds, setupClient: refreshClients(job, refresh.warmupTokens, new Set(), {}) });
  const dead = new Set<number>();
  const failure: { body?: string } = {};
  return summarise(await autocannon({ ...base, duration: refresh.seconds, setupClient: refreshClients(job, refresh.tokens, dead, failure) }), failure, dead);
}

// Started by oidc-token.ts with fork(): one job in, one result out, then exit.
if (process.send) {
  process.once('message', (job: OidcLoadJob) => {
    runOidcJob(job).then(
      (result) => process.send!({ result }, () => process.disconnect()),
      (err: Error) => process.send!({ error: err.stack ?? String(err) }, () => process.disconnect()),
    );
  });
}
