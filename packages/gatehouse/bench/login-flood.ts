// Issue 9: login latency under a flood. Measures the argon2id ceiling (raw verifies per second with the
// server's own hash concurrency), then offers POST /auth/login at 50%, 100% and 200% of it for a fixed time,
// and reports, for each rate: logins accepted per second, the p99 latency of the accepted ones, how many were
// refused with 503 (the bounded hash queue was full), and the p99 of GET /health probed during the flood.
// Without a bounded queue, the 200% run would show latencies growing without limit; with it, p99 stays near
// one queue's worth of work and the excess is refused at once. Loopback only; the load comes from a child process.
//   npm run bench:flood -w gatehouse        (BENCH_FLOOD_SECONDS, default 8 per rate)
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.ts';
import { openRuntime } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config.ts';
import { PasswordHasher, hashPassword } from '../src/crypto/passwords.ts';

interface FloodJob {
  url: string;
  rate: number;
  seconds: number;
  body: string;
}

interface FloodResult {
  accepted: number;
  refused: number;
  other: number;
  p50: number;
  p99: number;
}

const PASSWORD = 'bench-correct-horse-battery-staple';
const SECONDS = Number(process.env.BENCH_FLOOD_SECONDS ?? 8) || 8;

// --------------------------------------------------------------------------------------- child: the load

/**
 * An open-loop generator: one login every 1000/rate ms, whatever the server's state, as real users arrive.
 * (autocannon's overallRate sends each second's requests in a burst at the tick, which measures the burst.)
 */
async function flood(job: FloodJob): Promise<FloodResult> {
  const latencies: number[] = [];
  let refused = 0;
  let other = 0;
  const inFlight: Promise<void>[] = [];
  const interval = 1000 / job.rate;
  const started = performance.now();
  for (let i = 0; performance.now() - started < job.seconds * 1000; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const sent = performance.now();
    inFlight.push(
      fetch(`${job.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: job.body, signal: AbortSignal.timeout(30_000) }).then(
        async (res) => {
          await res.arrayBuffer();
          if (res.status === 200) latencies.push(performance.now() - sent);
          else if (res.status === 503) refused += 1;
          else other += 1;
        },
        () => void (other += 1),
      ),
    );
  }
  await Promise.all(inFlight);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0);
  return { accepted: latencies.length, refused, other, p50: at(0.5), p99: at(0.99) };
}

if (process.send) {
  process.once('message', (job: FloodJob) => {
    flood(job).then(
      (result) => process.send!({ result }, () => process.disconnect()),
      (err: Error) => process.send!({ error: err.stack ?? String(err) }, () => process.disconnect()),
    );
  });
} else {
  await main();
}

// -------------------------------------------------------------------------------------- parent: the run

function inChild(job: FloodJob): Promise<FloodResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx'] });
    child.once('message', (msg: { result?: FloodResult; error?: string }) => (msg.result ? resolve(msg.result) : reject(new Error(msg.error))));
    child.once('error', reject);
    child.send(job);
  });
}

async function argon2Ceiling(concurrency: number, seconds: number): Promise<number> {
  const hasher = new PasswordHasher(concurrency, 1_000_000);
  const stored = await hashPassword(PASSWORD);
  let done = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await hasher.verify(stored, PASSWORD);
        done += 1;
      }
    }),
  );
  return done / seconds;
}

/** p99 of GET /health, probed from this process every 20 ms while `work` runs. */
async function probeHealth(url: string, work: Promise<FloodResult>): Promise<number> {
  const latencies: number[] = [];
  let finished = false;
  void work.finally(() => (finished = true));
  while (!finished) {
    const started = performance.now();
    await (await fetch(`${url}/health`)).arrayBuffer();
    latencies.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 20));
  }
  latencies.sort((a, b) => a - b);
  return latencies[Math.floor(latencies.length * 0.99)] ?? 0;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-flood-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PUBLIC_URL: 'http://127.0.0.1',
    DATA_DIR: dataDir,
    GATEHOUSE_SECRET: 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
    RATE_LIMIT_LOGIN_ACCOUNT: '1000000/1m',
    RATE_LIMIT_LOGIN_IP: '1000000/1m',
    RATE_LIMIT_SIGNUP_IP: '1000000/1m',
    RATE_LIMIT_IP: '100000000/1m',
  });
  const runtime = await openRuntime(config);
  const app = await buildApp(runtime.ctx, runtime.database.db, runtime.log);
  try {
    const email = 'flood@example.com';
    const registered = await app.inject({ method: 'POST', url: '/auth/register', payload: { email, password: PASSWORD } });
    if (registered.statusCode !== 201) throw new Error(`register answered ${registered.statusCode}`);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const { concurrency, queueMax } = runtime.ctx.passwords;

    const ceiling = await argon2Ceiling(concurrency, 3);
    console.log(`argon2id ceiling: ${ceiling.toFixed(1)} verifies/s with ${concurrency} in flight; hash queue holds ${queueMax}`);
    const rows = [];
    for (const share of [0.5, 1, 2]) {
      const rate = Math.max(1, Math.round(ceiling * share));
      const job: FloodJob = { url, rate, seconds: SECONDS, body: JSON.stringify({ email, password: PASSWORD, mode: 'token' }) };
      const work = inChild(job);
      const healthP99 = await probeHealth(url, work);
      const r = await work;
      rows.push({ offered: `${share * 100}%`, rate, acceptedPerSecond: r.accepted / SECONDS, refused503: r.refused, other: r.other, p50: r.p50, p99: r.p99, healthP99 });
      // Let the queue drain before the next rate.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    console.log('\noffered   rate/s  accepted/s  503s   other  login p50  login p99  /health p99');
    for (const row of rows) {
      console.log(
        `${row.offered.padEnd(8)} ${String(row.rate).padStart(7)} ${row.acceptedPerSecond.toFixed(1).padStart(11)} ${String(row.refused503).padStart(5)} ${String(row.other).padStart(7)} ${`${row.p50} ms`.padStart(10)} ${`${row.p99} ms`.padStart(10)} ${`${row.healthP99.toFixed(1)} ms`.padStart(12)}`,
      );
    }
    const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(path.join(resultsDir, 'login-flood.json'), JSON.stringify({ at: new Date().toISOString(), ceiling, concurrency, queueMax, seconds: SECONDS, loadavg: os.loadavg(), rows }, null, 2));
  } finally {
    await app.close();
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
