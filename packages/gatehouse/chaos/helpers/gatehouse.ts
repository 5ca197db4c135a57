// Gatehouse as the real thing: `node bin/gatehouse.js serve` in a child process on a loopback port, and the CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { atExit, freePort } from './backends.ts';

export const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'gatehouse.js');
export const CHAOS_SECRET = 'chaos-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** Limits high enough that only the scenarios about limits meet them. */
export const RELAXED_LIMITS = {
  RATE_LIMIT_LOGIN_ACCOUNT: '100000/15m',
  RATE_LIMIT_LOGIN_IP: '100000/15m',
  RATE_LIMIT_SIGNUP_IP: '100000/1h',
  RATE_LIMIT_MAIL_ACCOUNT: '100000/1h',
  RATE_LIMIT_IP: '1000000/1m',
};

export interface ServerOptions {
  databaseUrl: string;
  redisUrl: string;
  /** The issuer every instance of one deployment shares; default this instance's own address. */
  publicUrl?: string;
  env?: Record<string, string>;
}

export class GatehouseServer {
  private child: ChildProcess | null = null;
  private removeHook: (() => void) | null = null;
  /** The last lines the server wrote (stderr and stdout), for a failure message. */
  output = '';
  /** Error log lines that are not a 503 (an outage answered as such): what a 500 was made of. */
  internalErrors: string[] = [];
  readonly dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-chaos-data-'));

  private constructor(
    readonly port: number,
    private readonly options: ServerOptions,
  ) {}

  static async start(options: ServerOptions): Promise<GatehouseServer> {
    const server = new GatehouseServer(await freePort(), options);
    await server.startProcess();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get env(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(this.port),
      PUBLIC_URL: this.options.publicUrl ?? this.url,
      DATA_DIR: this.dataDir,
      INIT_CWD: this.dataDir,
      GATEHOUSE_SECRET: CHAOS_SECRET,
      DATABASE_URL: this.options.databaseUrl,
      REDIS_URL: this.options.redisUrl,
      ...RELAXED_LIMITS,
      ...this.options.env,
    };
  }

  /** Spawns `serve` and waits until /health answers. */
  async startProcess(): Promise<void> {
    const child = spawn(process.execPath, [BIN, 'serve'], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.removeHook = atExit(() => child.kill('SIGKILL'));
    let partial = '';
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-8000);
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line.includes('"level":50') && !line.includes('"status":503') && this.internalErrors.length < 2000) this.internalErrors.push(line.slice(0, 2000));
      }
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const started = Date.now();
    while (Date.now() - started < 60_000) {
      if (child.exitCode !== null) throw new Error(`gatehouse exited with ${child.exitCode}: ${this.output}`);
      try {
        const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // Not listening yet.
      }
      await sleep(100);
    }
    throw new Error(`gatehouse did not start in 60 s: ${this.output}`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Sends `signal` and waits for the process to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    this.child = null;
    this.removeHook?.();
    this.removeHook = null;
  }

  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Runs the CLI (`keys rotate`, `migrate`, …) with the server's environment; resolves with its output. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const remove = atExit(() => child.kill('SIGKILL'));
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      remove();
      resolve({ code, output });
    });
  });
}

/** The distinct error messages a server logged that are not a known outage (what a 500 was made of). */
export function unexpectedErrors(lines: string[]): string[] {
  const known = /ECONNREFUSED|Too many password checks|terminating connection|Connection terminated|STATE_UNAVAILABLE|Connection is closed|max retries|Stream isn't writeable|the database system is (starting up|shutting down)/i;
  const messages = new Set<string>();
  for (const line of lines) {
    if (known.test(line)) continue;
    const match = /"message":"((?:[^"\\]|\\.)*)"/.exec(line);
    messages.add(match ? match[1]!.slice(0, 300) : line.slice(0, 300));
  }
  return [...messages];
}
