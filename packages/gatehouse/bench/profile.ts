// Profiles the Gatehouse process (node --cpu-prof) under one load of bench:compare, and prints where its
// CPU time went: self time by function and by package.
//   node --import tsx bench/profile.ts me-session|me-bearer|refresh|login [seconds]
//   BENCH_PG_URL=postgres://… to profile on PostgreSQL (a fresh database is made and dropped)
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

function summarise(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
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
      .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
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
  const peer = await startPeer('./peers/gatehouse.ts', {
    BENCH_DATA_DIR: path.join(dir, 'data'),
    BENCH_DATABASE_URL: databaseUrl,
    BENCH_REDIS_URL: databaseUrl ? (process.env.BENCH_PG_REDIS_URL ?? 'redis://127.0.0.1:6379') : '',
  }, ['--cpu-prof', `--cpu-prof-dir=${path.join(dir, 'prof')}`]);
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
    } else if (scenario === 'refresh') {
      const tokens: string[] = [];
      for (let i = 0; i < 2 * connections; i++) tokens.push((await login('token')).body.refreshToken!);
      job = { ...base, refresh: { path: '/auth/refresh', warmupTokens: tokens.slice(0, connections), tokens: tokens.slice(connections) } };
    } else {
      const requests: StaticRequest[] = emails.map((email) => ({ method: 'POST', path: '/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) }));
      job = { ...base, requests };
    }
    const result = await runLoad(job);
    console.log(`${scenario}: ${Math.round(result.perSecond)}/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, non-2xx ${result.non2xx}`);
  } finally {
    await peer.stop();
    await drop?.();
  }
  const profDir = path.join(dir, 'prof');
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file) summarise(path.join(profDir, file));
  if (process.env.BENCH_KEEP_PROFILE) console.log(`\nprofile kept in ${profDir}`);
  else rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
