// What bench/compare.ts needs to run things: peer servers in child processes, autocannon in another
// (bench/load.ts), and in-process ceilings that keep N calls in flight.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadJob, LoadResult } from './load.ts';

export interface Ceiling {
  perSecond: number;
  ops: number;
  seconds: number;
}

export interface Peer {
  url: string;
  /** The peer's process id (bench/profile.ts reads its CPU time from /proc). */
  pid: number;
  /** Whatever the peer sent besides its port. */
  info: Record<string, unknown>;
  /** Sends one IPC message and resolves with the peer's next message. */
  ask(message: object): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * Forks a server script (fork passes on `--import tsx`) and waits for it to send `{ port }`. Every server
 * runs in a process of its own, as in production and as the load generator does, so no two share an event loop.
 */
export function startPeer(script: string, env: Record<string, string | undefined>, execArgv: string[] = []): Promise<Peer> {
  const child: ChildProcess = fork(fileURLToPath(new URL(script, import.meta.url)), {
    env: { ...process.env, ...env },
    execArgv: [...process.execArgv, ...execArgv],
    stdio: 'inherit',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start within 60 s`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (code ${code}) before it was ready`));
    });
    child.once('message', (message) => {
      clearTimeout(timer);
      const { port, ...info } = message as { port: number } & Record<string, unknown>;
      resolve({
        url: `http://127.0.0.1:${port}`,
        pid: child.pid!,
        info,
        ask(message) {
          return new Promise((answer) => {
            child.once('message', (reply) => answer(reply as Record<string, unknown>));
            child.send(message);
          });
        },
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}

/** Runs one autocannon job in a fresh child process and waits for it to exit. */
export function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./load.ts', import.meta.url)), { stdio: 'inherit' });
    let answer: { result?: LoadResult; error?: string } = {};
    child.once('message', (message) => (answer = message as typeof answer));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (answer.result) resolve(answer.result);
      else reject(new Error(`load generator failed (exit ${code}): ${answer.error ?? 'no result'}`));
    });
    child.send(job);
  });
}

/** Keeps `concurrency` calls of an async operation in flight for `seconds`. */
export async function sustain(concurrency: number, seconds: number, op: (lane: number) => Promise<unknown>): Promise<Ceiling> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let ops = 0;
  const lane = async (index: number) => {
    while (performance.now() < deadline) {
      await op(index);
      ops++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => lane(i)));
  // The last calls finish after the deadline; they are counted, so their time is too.
  const elapsed = (performance.now() - started) / 1000;
  return { perSecond: ops / elapsed, ops, seconds: elapsed };
}

/** A synchronous operation in a loop for `seconds` (better-sqlite3, node:crypto's sync sign). */
export function loop(seconds: number, op: () => void): Ceiling {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let ops = 0;
  while (performance.now() < deadline) {
    op();
    ops++;
  }
  const elapsed = (performance.now() - started) / 1000;
  return { perSecond: ops / elapsed, ops, seconds: elapsed };
}

export async function postJson(url: string, body: object, expected: number, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (response.status !== expected) throw new Error(`POST ${url}: expected ${expected}, got ${response.status} ${await response.text()}`);
  return response;
}

/** A probe before each load run, so a misconfigured run fails loudly instead of timing 401s. */
export async function expectOk(url: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(url, { headers });
  if (response.status !== 200) throw new Error(`GET ${url}: expected 200, got ${response.status} ${await response.text()}`);
}
