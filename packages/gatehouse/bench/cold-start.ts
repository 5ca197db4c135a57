// Cold start and idle memory of `gatehouse serve`: from source through tsx, and from dist/ (`npm run build`).
// Each run spawns bin/gatehouse.js on a fresh DATA_DIR (first boot: migrations and a new signing key) and on a
// warm one (a restart), times spawn → the "gatehouse ready" log line, then reads the process's RSS after 3 s idle.
//   npm run build && node --import tsx bench/cold-start.ts
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'bin', 'gatehouse.js');
const RUNS = Number(process.env.RUNS ?? 5);

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** Child processes of `pid` (tsx's esbuild service shows up here). */
function children(pid: number): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map((d) => readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')[0]!);
}

async function once(mode: 'tsx' | 'dist', dataDir: string): Promise<{ readyMs: number; rss: number; children: string[] }> {
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: mode === 'dist' ? 'production' : 'development',
    PUBLIC_URL: 'https://auth.example.com',
    PORT: '0',
    DATA_DIR: dataDir,
    GATEHOUSE_SECRET: 'cold-start-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
    MAIL_OUTBOX: 'true',
    METRICS: 'off',
    LOG_LEVEL: 'info',
  };
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errors = '';
  child.stderr.on('data', (d) => (errors += d));
  const readyMs = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('gatehouse ready')) resolve(performance.now() - started);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${errors}`)));
  });
  await new Promise((r) => setTimeout(r, 3000));
  const result = { readyMs, rss: rssMiB(child.pid!), children: children(child.pid!) };
  child.kill('SIGTERM');
  await new Promise((r) => child.on('close', r));
  return result;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (!existsSync(path.join(root, 'dist', 'cli.js'))) throw new Error('run `npm run build` first');
for (const mode of ['tsx', 'dist'] as const) {
  for (const boot of ['first boot', 'restart'] as const) {
    const ready: number[] = [];
    const rss: number[] = [];
    let kids: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const dir = mkdtempSync(path.join(tmpdir(), 'gh-cold-'));
      if (boot === 'restart') await once(mode, dir);
      const run = await once(mode, dir);
      ready.push(run.readyMs);
      rss.push(run.rss);
      kids = run.children;
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(`${mode.padEnd(4)} ${boot.padEnd(10)}  ready ${median(ready).toFixed(0)} ms (min ${Math.min(...ready).toFixed(0)}, max ${Math.max(...ready).toFixed(0)})  idle RSS ${median(rss).toFixed(1)} MiB  child processes: ${kids.length ? kids.join(', ') : 'none'}`);
  }
}
