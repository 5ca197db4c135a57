// Private PostgreSQL and Redis for the chaos suite: their own processes, data directories and loopback ports, so
// stopping them never touches the PostgreSQL and Redis other tests share. Every process started here is also
// registered for a synchronous kill at exit, so a failed or interrupted run leaves no server behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Redis } from 'ioredis';

type Cleanup = () => void;
const cleanups = new Set<Cleanup>();
let hooked = false;

/** Runs `fn` (synchronous, best effort) when the process exits, however it exits; returns its remover. */
export function atExit(fn: Cleanup): () => void {
  if (!hooked) {
    hooked = true;
    const runAll = () => {
      for (const cleanup of [...cleanups].reverse()) {
        try {
          cleanup();
        } catch {
          // Best effort: one failed cleanup must not keep the others from running.
        }
      }
      cleanups.clear();
    };
    process.once('exit', runAll);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        runAll();
        process.exit(130);
      });
    }
  }
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (process.env.PG_BIN) return process.env.PG_BIN;
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : null;
}

/** Why the chaos suite cannot run here, or null when it can. */
/** Why the suite cannot run here, or null. With CI=true a missing tool throws: CI must not pass by skipping. */
export function missingTools(): string | null {
  const missing = !postgresBin()
    ? 'PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BIN'
    : spawnSync('redis-server', ['--version']).status !== 0
      ? 'redis-server is not installed'
      : null;
  if (missing && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error(`chaos suite: ${missing} (required with CI=true)`);
  return missing;
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL tool as the postgres user when we are root (the server refuses to run as root). */
function pgTool(bin: string, args: string[], options: { timeoutMs?: number } = {}) {
  const tool = path.join(postgresBin()!, bin);
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', tool, ...args]] : [tool, args];
  const result = spawnSync(cmd, argv, { encoding: 'utf8', timeout: options.timeoutMs ?? 60_000 });
  if (result.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed: ${result.stderr || result.stdout || result.error}`);
  return result.stdout;
}

/** A throwaway PostgreSQL cluster on a loopback port, trust auth, its socket in its own directory. */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly removeHook: () => void,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-chaos-pg-'));
    if (asRoot) chownSync(dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()), Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()));
    const port = await freePort();
    const data = path.join(dir, 'data');
    const removeHook = atExit(() => {
      spawnSync(asRoot ? 'runuser' : path.join(postgresBin()!, 'pg_ctl'), asRoot ? ['-u', 'postgres', '--', path.join(postgresBin()!, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop'], { stdio: 'ignore', timeout: 20_000 });
      rmSync(dir, { recursive: true, force: true });
    });
    pgTool('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], { timeoutMs: 120_000 });
    const instance = new PrivatePostgres(dir, port, removeHook);
    await instance.startServer();
    return instance;
  }

  get data(): string {
    return path.join(this.dir, 'data');
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** pg_ctl start, waiting until it accepts connections. */
  async startServer(): Promise<void> {
    // Small shared buffers and few connections: the machine is shared. fsync stays on: a restart must keep data.
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=60 -c shared_buffers=32MB`;
    pgTool('pg_ctl', ['-D', this.data, '-o', options, '-l', path.join(this.dir, 'log'), '-w', '-t', '60', 'start'], { timeoutMs: 90_000 });
  }

  /** pg_ctl stop -m fast: sessions are disconnected (57P01), a shutdown checkpoint keeps every commit. */
  async stopServer(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    pgTool('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop'], { timeoutMs: 90_000 });
  }

  async createDatabase(name: string): Promise<string> {
    const client = new pg.Client({ connectionString: this.url() });
    await client.connect();
    try {
      await client.query(`create database ${name}`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  async destroy(): Promise<void> {
    try {
      await this.stopServer('immediate');
    } catch {
      // Already stopped.
    }
    rmSync(this.dir, { recursive: true, force: true });
    this.removeHook();
  }
}

/** A redis-server child process (not daemonized: we own it), no persistence, on a loopback port. */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  private removeHook: (() => void) | null = null;
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.startServer();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async startServer(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.child = child;
    this.removeHook = atExit(() => child.kill('SIGKILL'));
    for (let i = 0; i < 200; i++) {
      if (await this.ping()) return;
      await sleep(50);
    }
    throw new Error('private redis-server did not start');
  }

  async ping(): Promise<boolean> {
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }

  /** Kills redis-server and waits for it to be gone. */
  async stopServer(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.child = null;
    this.removeHook?.();
    this.removeHook = null;
  }

  async destroy(): Promise<void> {
    await this.stopServer();
  }
}
