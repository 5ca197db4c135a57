// Profiles the Gatehouse process (node --cpu-prof) under one load of bench:compare, and prints where its
// CPU time went: self time by function and by package.
//   node --import tsx bench/profile.ts me-session|me-bearer|refresh|login|floor-me|floor-session [seconds]
//   floor-me and floor-session profile bench/peers/floor.ts (the floors of /auth/me in bench:compare) instead,
//   on the same Gatehouse's SQLite file, so the two profiles can be read side by side.
//   BENCH_PG_URL=postgres://… to profile on PostgreSQL (a fresh database is made and dropped)
//   BENCH_CPU_ONLY=1 to skip the V8 profile and print only the server's CPU time per request, read from
//   /proc (user + system, the whole process and its main thread): less sensitive than sampled profiles to
//   other processes on a shared machine, and not slowed by the profiler, so the figure to compare A/B runs by.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { expectOk, postJson, runLoad, startPeer } from './harness.ts';
import type { LoadJob, StaticRequest } from './load.ts';

const scenario = process.argv[2] ?? 'me-session';
const seconds = Number(process.argv[3] ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PASSWORD = 'bench-correct-horse-battery-staple';
const cpuOnly = process.env.BENCH_CPU_ONLY === '1';

/** CPU time (user + system) in µs of a process, and of its main thread, from /proc (Linux; clock ticks of 10 ms). */
function cpuOf(pid: number): { process: number; main: number } | null {
  const ticks = (file: string) => {
    const fields = readFileSync(file, 'utf8').replace(/^.*\) /s, '').split(' ');
    // After the command: state is field 3, utime field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  };
  if (!existsSync(`/proc/${pid}/stat`)) return null;
  return { process: ticks(`/proc/${pid}/stat`), main: ticks(`/proc/${pid}/task/${pid}/stat`) };
}

/**
 * CPU time in µs of the PostgreSQL backends serving the profiled database (Gatehouse's pool), from /proc: a
 * statement's parsing, planning and execution are CPU the same machine's cores spend per request too.
 */
async function postgresBackendsCpu(databaseUrl: string): Promise<number | null> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
    let total = 0;
    for (const { pid } of rows) total += cpuOf(pid)?.process ?? 0;
    return rows.length ? total : null;
  } catch {
    return null;
  } finally {
    await client.end();
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/**
 * `window`: the measured run, in CLOCK_MONOTONIC microseconds (V8's profile clock and process.hrtime share
 * it on Linux), and the requests answered in it: only its samples count, and every line also says how many
 * microseconds of the server's main thread each request spent there.
 */
function summarise(file: string, window: { fromUs: number; toUs: number; requests: number } | null): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number };
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const perRequest = (us: number) => (window ? `${(us / window.requests).toFixed(1).padStart(7)} µs  ` : '');
  if (window) console.log(`measured window: ${(total / 1e6).toFixed(2)} s sampled, ${window.requests} requests: ${(total / window.requests).toFixed(1)} µs of the main thread per request, idle included`);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byNode.get(id)!.callFrame;
    const short = url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'nm:').replace(/.*\/packages\//, '');
    byFunction.set(`${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`, (byFunction.get(`${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`) ?? 0) + us);
    const pkg = url.includes('node_modules/') ? url.replace(/.*node_modules\/((@[^/]+\/)?[^/]+).*/, '$1') : url.startsWith('node:') ? 'node:*' : url.includes('/packages/') ? 'gatehouse src' : functionName.startsWith('(') ? functionName : 'other';
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${perRequest(v)}${k}`)
      .join('\n');
  // Inclusive time: every distinct frame on a sample's stack gets its time once.
  const parent = new Map<number, number>();
  for (const n of profile.nodes as (ProfileNode & { children?: number[] })[]) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byNode.get(at)!.callFrame;
      if (!functionName) continue;
      const short = url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'nm:').replace(/.*\/packages\//, '');
      const name = `${functionName} ${short}:${lineNumber + 1}`;
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }
  console.log(`\nby function, inclusive\n${top(inclusive, 60)}`);
  console.log(`\nby package (self time, ${(total / 1e6).toFixed(1)} s sampled)\n${top(byPackage, 20)}\n\nby function\n${top(byFunction, 40)}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-profile-'));
  let drop: (() => Promise<void>) | null = null;
  let window: { fromUs: number; toUs: number; requests: number } | null = null;
  let databaseUrl = '';
  if (process.env.BENCH_PG_URL) {
    const name = `gatehouse_profile_${randomBytes(3).toString('hex')}`;
    const admin = new pg.Client({ connectionString: process.env.BENCH_PG_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(process.env.BENCH_PG_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.href;
    drop = async () => {
      const c = new pg.Client({ connectionString: process.env.BENCH_PG_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  }
  const floor = scenario.startsWith('floor-');
  const profiling = cpuOnly ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.join(dir, 'prof')}`];
  const peer = await startPeer('./peers/gatehouse.ts', {
    BENCH_DATA_DIR: path.join(dir, 'data'),
    BENCH_DATABASE_URL: databaseUrl,
    BENCH_REDIS_URL: databaseUrl ? (process.env.BENCH_PG_REDIS_URL ?? 'redis://127.0.0.1:6379') : '',
  }, floor ? [] : profiling);
  let floorPeer: Awaited<ReturnType<typeof startPeer>> | null = null;
  try {
    const emails = Array.from({ length: 8 }, (_, i) => `bench-user-${i}@example.com`);
    for (const email of emails) await postJson(`${peer.url}/auth/register`, { email, password: PASSWORD, name: 'Bench' }, 201);
    const login = async (mode: string) => {
      const res = await postJson(`${peer.url}/auth/login`, { email: emails[0], password: PASSWORD, mode }, 200);
      return { body: (await res.json()) as { accessToken?: string; refreshToken?: string }, cookie: res.headers.getSetCookie().find((c) => /^(__Host-)?gh_session=/.test(c))?.split(';')[0] };
    };
    const base = { url: peer.url, connections, warmupSeconds: 1, seconds };
    let job: LoadJob;
    if (scenario === 'me-session') {
      const { cookie } = await login('session');
      await expectOk(`${peer.url}/auth/me`, { cookie: cookie! });
      job = { ...base, requests: [{ method: 'GET', path: '/auth/me', headers: { cookie: cookie! } }] };
    } else if (scenario === 'me-bearer') {
      const { body } = await login('token');
      job = { ...base, requests: [{ method: 'GET', path: '/auth/me', headers: { authorization: `Bearer ${body.accessToken}` } }] };
    } else if (floor) {
      const { body, cookie } = await login(scenario === 'floor-session' ? 'session' : 'token');
      const me = (await (await fetch(`${peer.url}/auth/me`, { headers: cookie ? { cookie } : { authorization: `Bearer ${body.accessToken}` } })).json()) as { user: { id: string } };
      floorPeer = await startPeer('./peers/floor.ts', {
        BENCH_FLOOR: scenario === 'floor-session' ? 'session' : 'me',
        BENCH_DB_FILE: path.join(dir, 'data', 'gatehouse.db'),
        BENCH_USER_ID: me.user.id,
        BENCH_LOG_FILE: path.join(dir, 'floor.log'),
      }, profiling);
      const headers: Record<string, string> = cookie ? { cookie } : { authorization: `Bearer ${body.accessToken}` };
      await expectOk(`${floorPeer.url}/auth/me`, headers);
      job = { ...base, url: floorPeer.url, requests: [{ method: 'GET', path: '/auth/me', headers }] };
    } else if (scenario === 'refresh') {
      const tokens: string[] = [];
      for (let i = 0; i < 2 * connections; i++) tokens.push((await login('token')).body.refreshToken!);
      job = { ...base, refresh: { path: '/auth/refresh', warmupTokens: tokens.slice(0, connections), tokens: tokens.slice(connections) } };
    } else {
      const requests: StaticRequest[] = emails.map((email) => ({ method: 'POST', path: '/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) }));
      job = { ...base, requests };
    }
    // The warm-up as a run of its own, so that the profile can be cut to the measured run.
    await runLoad({ ...job, seconds: 1, warmupSeconds: 0, ...(job.refresh ? { refresh: { ...job.refresh, tokens: job.refresh.warmupTokens } } : {}) });
    const profiled = floorPeer ?? peer;
    const pgBefore = databaseUrl ? await postgresBackendsCpu(databaseUrl) : null;
    const cpuBefore = cpuOf(profiled.pid);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const result = await runLoad({ ...job, warmupSeconds: 0 });
    const toUs = Number(process.hrtime.bigint() / 1000n);
    const cpuAfter = cpuOf(profiled.pid);
    const pgAfter = databaseUrl ? await postgresBackendsCpu(databaseUrl) : null;
    window = { fromUs, toUs, requests: result.ok };
    console.log(`${scenario}: ${Math.round(result.perSecond)}/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, non-2xx ${result.non2xx}, load average ${os.loadavg()[0]!.toFixed(2)}`);
    if (cpuBefore && cpuAfter) {
      // The load generator's run includes its connection set-up; requests counted are the 2xx ones.
      const per = (us: number) => (us / result.ok).toFixed(1);
      console.log(`server CPU per request (/proc, user + system): ${per(cpuAfter.process - cpuBefore.process)} µs the whole process, ${per(cpuAfter.main - cpuBefore.main)} µs its main thread${cpuOnly ? '' : ' (profiler on)'}`);
      // The pool's connections stay open from the warm-up on, so the same backends are read before and after.
      if (pgBefore !== null && pgAfter !== null) console.log(`PostgreSQL backends of the pool: ${per(pgAfter - pgBefore)} µs CPU per request`);
    }
  } finally {
    await floorPeer?.stop();
    await peer.stop();
    await drop?.();
  }
  const profDir = path.join(dir, 'prof');
  const file = existsSync(profDir) ? readdirSync(profDir).find((f) => f.endsWith('.cpuprofile')) : undefined;
  if (file) summarise(path.join(profDir, file), window);
  if (process.env.BENCH_KEEP_PROFILE) {
    if (window) writeFileSync(path.join(profDir, 'window.json'), JSON.stringify(window));
    console.log(`\nprofile kept in ${profDir} (the measured window in window.json)`);
  }
  else rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
