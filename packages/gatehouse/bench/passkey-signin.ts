// Passkey sign-ins per second against their ceiling (issue 19), for bench:compare, which calls
// benchPasskeySignIn on a Gatehouse of its own; run alone (`npm run bench:passkey`) it starts that Gatehouse
// itself and prints the figure, the ceiling and their ratio, a short check without the whole comparison.
//
//   figure:  POST /auth/passkeys/login/options + POST /auth/passkeys/login, usernameless, a discoverable ES256
//            credential of test/helpers/webauthn.ts's SoftAuthenticator, each assertion over a fresh challenge,
//            counter one up, with user verification (the passkey signs in alone: amr hwk user mfa), token mode;
//            autocannon in a child process (bench/load.ts → bench/passkey-load.ts)
//   ceiling: in this process, the assertion's raw ES256 verification + one access token's raw signature
//            (bench/ceilings.ts passkeySignInCeiling): the CPU work such a sign-in cannot skip
//
// The accounts are enrolled beforehand through the domain (bench/peers/gatehouse.ts passkeyOptions and
// passkeyRegister: registrationOptions, the authenticator's attestation, registerPasskey), BENCH_PASSKEY_ACCOUNTS
// of them (default 512), spread over the connections, so that each account signs in a few times in a run, as
// people do, rather than one account collecting thousands of live sessions.
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { JwtAlg } from '../src/config.ts';
import { SoftAuthenticator } from '../test/helpers/webauthn.ts';
import { passkeySignInCeiling, type Timing } from './ceilings.ts';
import { runLoad, startPeer, type Ceiling, type Peer } from './harness.ts';
import type { LoadResult } from './load.ts';
import type { PasskeyCredentialJSON } from './passkey-load.ts';

export interface PasskeyBenchOptions {
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** Accounts with one passkey each; at least one per connection. */
  accounts: number;
  jwtAlg: JwtAlg;
  /** Operations in flight in the ceiling (the machine's cores, as the other ceilings). */
  lanes: number;
  progress?: (message: string) => void;
}

export interface PasskeyBenchResult {
  /** perSecond: completed sign-ins (options + login) per second; latencyMs: the whole ceremony's. */
  http: LoadResult;
  ceiling: Ceiling;
}

async function ask(peer: Peer, message: object, key: string): Promise<unknown> {
  const reply = await peer.ask(message);
  if (reply.passkeyError) throw new Error(String(reply.passkeyError));
  if (!(key in reply)) throw new Error(`the peer answered ${JSON.stringify(reply).slice(0, 200)} instead of ${key}`);
  return reply[key];
}

/** `count` accounts, each with one passkey of its own authenticator (a user with their phone or laptop). */
async function enrol(peer: Peer, count: number): Promise<{ origin: string; rpId: string; authenticators: SoftAuthenticator[] }> {
  const { origin, rpId, users } = (await ask(peer, { passkeyOptions: { count, tag: String(process.pid) } }, 'passkeyOptions')) as {
    origin: string;
    rpId: string;
    users: Array<{ userId: string; options: Parameters<SoftAuthenticator['create']>[0] }>;
  };
  const authenticators: SoftAuthenticator[] = [];
  const registrations = users.map(({ userId, options }) => {
    const authenticator = new SoftAuthenticator({ origin, uv: true });
    authenticators.push(authenticator);
    return { userId, response: authenticator.create(options) };
  });
  const registered = (await ask(peer, { passkeyRegister: registrations }, 'passkeyRegistered')) as number;
  if (registered !== count) throw new Error(`registered ${registered} passkeys of ${count}`);
  return { origin, rpId, authenticators };
}

async function post(url: string, body: object): Promise<Record<string, unknown>> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST ${url}: expected 200, got ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Enrols the accounts on `peer` (a Gatehouse of bench/peers/gatehouse.ts), signs one in as a probe (so a
 * misconfigured run fails loudly: it must end signed in, not with an MFA challenge), runs the load, then the
 * ceiling right after it on the same machine.
 */
export async function benchPasskeySignIn(peer: Peer, o: PasskeyBenchOptions): Promise<PasskeyBenchResult> {
  const progress = o.progress ?? (() => {});
  const accounts = Math.max(o.accounts, o.connections);
  progress(`  enrolling ${accounts} accounts with a passkey each`);
  const { origin, rpId, authenticators } = await enrol(peer, accounts);

  const probe = authenticators[0]!;
  const options = await post(`${peer.url}/auth/passkeys/login/options`, {});
  if (options.allowCredentials && (options.allowCredentials as unknown[]).length) throw new Error('usernameless options named credentials');
  const assertion = probe.get(options as { challenge: string; rpId?: string });
  const signedIn = await post(`${peer.url}/auth/passkeys/login`, { response: assertion });
  if (typeof signedIn.accessToken !== 'string') throw new Error(`the probe sign-in did not end signed in: ${JSON.stringify(signedIn).slice(0, 200)}`);

  const credentials: PasskeyCredentialJSON[] = authenticators.map((a) => {
    const c = a.credentials[0]!;
    return {
      id: c.id.toString('base64url'),
      privateKeyPem: c.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      cosePublicKey: c.cosePublicKey.toString('base64url'),
      rpId: c.rpId,
      userHandle: c.userHandle,
      counter: c.counter,
    };
  });
  progress('  POST /auth/passkeys/login/options + POST /auth/passkeys/login');
  const http = await runLoad({ url: peer.url, connections: o.connections, warmupSeconds: o.warmupSeconds, seconds: o.seconds, passkey: { origin, credentials } });

  progress(`  raw ES256 assertion verifications + raw ${o.jwtAlg} signatures, ${o.lanes} in flight`);
  // The probe's own assertion and the public key of its credential; the probe's access token's signing input.
  const timing: Timing = { seconds: o.seconds, warmupSeconds: o.warmupSeconds };
  const ceiling = await passkeySignInCeiling(
    o.jwtAlg,
    (signedIn.accessToken as string).split('.').slice(0, 2).join('.'),
    {
      publicKey: createPublicKey(probe.credentials[0]!.privateKey),
      authenticatorData: Buffer.from(assertion.response.authenticatorData, 'base64url'),
      clientDataJSON: Buffer.from(assertion.response.clientDataJSON, 'base64url'),
      signature: Buffer.from(assertion.response.signature, 'base64url'),
    },
    o.lanes,
    timing,
  );
  return { http, ceiling };
}

// ---------------------------------------------------------------------------------------------- alone

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

async function main(): Promise<void> {
  const options: PasskeyBenchOptions = {
    connections: Math.max(1, Math.floor(envNumber('BENCH_CONNECTIONS', 32))),
    seconds: envNumber('BENCH_DURATION', 5) || 5,
    warmupSeconds: envNumber('BENCH_WARMUP', 1),
    accounts: Math.max(1, Math.floor(envNumber('BENCH_PASSKEY_ACCOUNTS', 512))),
    jwtAlg: (process.env.BENCH_JWT_ALG || 'RS256') as JwtAlg,
    lanes: os.availableParallelism(),
    progress: (message) => process.stderr.write(`· ${message}\n`),
  };
  const loadAtStart = os.loadavg();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-passkey-'));
  try {
    options.progress!('Gatehouse on SQLite (production configuration)');
    const peer = await startPeer('./peers/gatehouse.ts', { BENCH_DATA_DIR: dataDir, BENCH_JWT_ALG: options.jwtAlg });
    let result: PasskeyBenchResult;
    try {
      result = await benchPasskeySignIn(peer, options);
    } finally {
      await peer.stop();
    }
    const { http, ceiling } = result;
    const ratio = http.perSecond / ceiling.perSecond;
    const lines = [
      `Gatehouse passkey sign-in · node ${process.version} · ${os.availableParallelism()} × ${os.cpus()[0]?.model.trim() ?? '?'} · load average ${loadAtStart.map((n) => n.toFixed(2)).join(' ')} at start, ${os.loadavg().map((n) => n.toFixed(2)).join(' ')} at end`,
      `${options.jwtAlg} · ${options.connections} connections · ${options.seconds} s (+${options.warmupSeconds} s warm-up) · ${http.signIns?.accounts} accounts`,
      '',
      `passkey sign-ins/s (options + login, SQLite)          ${Math.round(http.perSecond).toLocaleString('en-US').padStart(8)}   p50 ${http.latencyMs.p50} ms, p99 ${http.latencyMs.p99} ms per ceremony; refused ${http.signIns?.refused}, non-2xx ${http.non2xx}, errors ${http.errors}`,
      `[ceiling] raw ES256 verify + ${options.jwtAlg} signature, ${options.lanes} in flight ${Math.round(ceiling.perSecond).toLocaleString('en-US').padStart(8)}`,
      `ratio                                                 ${(ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)).padStart(7)}×`,
    ];
    console.log(lines.join('\n'));
    const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(path.join(resultsDir, 'passkey.json'), JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, loadAverageAtStart: loadAtStart, settings: { ...options, progress: undefined }, http, ceiling, ratio }, null, 2) + '\n');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
