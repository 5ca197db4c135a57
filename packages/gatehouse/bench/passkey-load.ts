// The load of a passkey sign-in, run by bench/load.ts (in the load generator's own process) for a job with
// `passkey`: every autocannon connection signs in over and over, each time
//   POST /auth/passkeys/login/options  {}                    → a fresh challenge, usernameless (discoverable)
//   POST /auth/passkeys/login          { response }          → signed in (200 with an access token)
// the assertion signed, between the two, by test/helpers/webauthn.ts's SoftAuthenticator over that challenge,
// its counter one up, with user verification (so the passkey signs in alone). Each connection owns its own
// accounts (account i belongs to connection i mod connections) and takes them in turn, so a credential is never
// used by two requests at once and its counter only goes forward, as one person's authenticator's would.
import autocannon from 'autocannon';
import { createPrivateKey } from 'node:crypto';
import { SoftAuthenticator } from '../test/helpers/webauthn.ts';
import type { LoadJob, LoadResult } from './load.ts';

/** One registered credential, as it crosses the IPC channel (JSON): the private key as PKCS#8 PEM. */
export interface PasskeyCredentialJSON {
  id: string;
  privateKeyPem: string;
  cosePublicKey: string;
  rpId: string;
  userHandle: string | null;
  counter: number;
}

export interface PasskeyLoad {
  /** The relying party's origin, written into each clientDataJSON. */
  origin: string;
  credentials: PasskeyCredentialJSON[];
}

/** One authenticator per credential, each holding that credential only: a discoverable get() picks it. */
function authenticators(load: PasskeyLoad): SoftAuthenticator[] {
  return load.credentials.map((c) => {
    const authenticator = new SoftAuthenticator({ origin: load.origin, uv: true });
    authenticator.credentials.push({
      id: Buffer.from(c.id, 'base64url'),
      privateKey: createPrivateKey(c.privateKeyPem),
      cosePublicKey: Buffer.from(c.cosePublicKey, 'base64url'),
      rpId: c.rpId,
      userHandle: c.userHandle,
      counter: c.counter,
    });
    return authenticator;
  });
}

interface Tally {
  signedIn: number;
  /** Login answers other than 200 with an access token (refused, or an MFA challenge instead of a sign-in). */
  refused: number;
  /** Milliseconds from sending the options request to the login's answer, signed-in ceremonies only. */
  latencies: number[];
}

function passkeyClients(all: SoftAuthenticator[], connections: number, rpId: string, tally: Tally): (client: autocannon.Client) => void {
  let next = 0;
  const json = { 'content-type': 'application/json' };
  return (client) => {
    const index = next++;
    const mine = all.filter((_, i) => i % connections === index);
    if (mine.length === 0) throw new Error(`no passkey account for connection ${index}`);
    const ceremony = { turn: 0, started: 0, options: null as { challenge: string; rpId?: string } | null };
    // autocannon builds the first request of the list when the connection is set up, and each later one right
    // before it is written, after the previous response went through onResponse: the challenge is there in time.
    client.setRequests([
      {
        method: 'POST',
        path: '/auth/passkeys/login/options',
        headers: json,
        body: '{}',
        setupRequest: (request) => {
          ceremony.started = performance.now();
          ceremony.options = null;
          return request;
        },
        onResponse: (status, body) => {
          if (status === 200) ceremony.options = JSON.parse(body) as { challenge: string; rpId?: string };
        },
      },
      {
        method: 'POST',
        path: '/auth/passkeys/login',
        headers: json,
        setupRequest: (request) => {
          const authenticator = mine[ceremony.turn++ % mine.length]!;
          // Without options (their request failed) a challenge nobody issued: the login is refused and counted so.
          const response = authenticator.get(ceremony.options ?? { challenge: 'bench-no-challenge-was-issued', rpId });
          return { ...request, body: JSON.stringify({ response }) };
        },
        onResponse: (status, body) => {
          if (status === 200 && body.includes('"accessToken"')) {
            tally.signedIn++;
            tally.latencies.push(performance.now() - ceremony.started);
          } else {
            tally.refused++;
          }
        },
      },
    ]);
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
}

async function fire(job: LoadJob, seconds: number, all: SoftAuthenticator[], rpId: string): Promise<{ result: autocannon.Result; tally: Tally }> {
  const tally: Tally = { signedIn: 0, refused: 0, latencies: [] };
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: seconds,
    // A placeholder: setupClient replaces it on every connection before the first request is sent.
    requests: [{ method: 'GET', path: '/' }],
    setupClient: passkeyClients(all, job.connections, rpId, tally),
    ...(job.timeoutSeconds ? { timeout: job.timeoutSeconds } : {}),
  });
  return { result, tally };
}

/**
 * The warm-up, then the measured run, with the same authenticators (their counters carry on). perSecond is
 * completed sign-ins (two requests each) per second; latencyMs is the whole ceremony's, both round trips.
 */
export async function runPasskeyJob(job: LoadJob): Promise<LoadResult> {
  const load = job.passkey!;
  const all = authenticators(load);
  const rpId = load.credentials[0]?.rpId ?? new URL(load.origin).hostname;
  if (job.warmupSeconds > 0) await fire(job, job.warmupSeconds, all, rpId);
  const { result, tally } = await fire(job, job.seconds, all, rpId);
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  const sorted = tally.latencies.sort((a, b) => a - b);
  return {
    perSecond: tally.signedIn / result.duration,
    ok: tally.signedIn,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    statusCodes,
    latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99) },
    signIns: { completed: tally.signedIn, refused: tally.refused, requests: result.requests.total, accounts: load.credentials.length },
  };
}
