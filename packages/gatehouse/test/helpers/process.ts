// The server as an operator starts it: `bin/gatehouse.js` in a child process, and a free port to give it.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'gatehouse.js');

/** A port nobody listens on right now (the kernel's choice), on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `gatehouse <args>` with exactly this environment (nothing inherited), stdin closed after `stdin`. */
export function runGatehouse(args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<Ran> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/**
 * `gatehouse serve` until it logs "gatehouse ready" (then it is stopped with SIGTERM) or exits by itself;
 * killed after `timeoutMs`. `ready` says which.
 */
export function serveUntilReady(env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<Ran & { ready: boolean }> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let ready = false;
  child.stdout.on('data', (d) => {
    stdout += d;
    if (!ready && stdout.includes('gatehouse ready')) {
      ready = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr, ready }))));
}
