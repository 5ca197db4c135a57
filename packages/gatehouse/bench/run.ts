// Throughput of Gatehouse's three hot paths, each next to the ceiling that bounds it, in one run:
//   1. POST /auth/login    vs raw argon2id verifies        (the password hash is meant to dominate)
//   2. POST /auth/refresh  vs raw SQLite transactions and raw ctx.tokens.sign()
//   3. GET  /auth/me       vs a bare Fastify app answering the same route without auth
//   4. POST /auth/mfa/verify, beside the password login: the second step of a sign-in with TOTP
// The real server (buildApp on SQLite in a temp DATA_DIR) runs in this process; autocannon runs in a child
// process (bench/load.ts) so that it does not share the server's event loop. Everything is on 127.0.0.1.
// Prints a table and writes bench/results/latest.json. See bench/README.md.
import { verify } from '@node-rs/argon2';
import SQLite from 'better-sqlite3';
import Fastify from 'fastify';
import { execFileSync, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.ts';
import { openRuntime, type Runtime } from '../src/bootstrap.ts';
import { loadConfig, type JwtAlg } from '../src/config.ts';
import { hashPassword } from '../src/crypto/passwords.ts';
import { SESSION_COOKIE } from '../src/http/cookies.ts';
import { uuidv7 } from '../src/crypto/random.ts';
import { enrolTotp } from '../src/factors/service.ts';
import { codeAt, TOTP_PERIOD_S } from '../src/methods/totp/totp.ts';
import { issueMfaChallenge } from '../src/sign-in/mfa-challenge.ts';
import type { User } from '../src/users/store.ts';
import type { LoadJob, LoadResult, StaticRequest } from './load.ts';

// ---------------------------------------------------------------------------------------------- settings

interface Settings {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  jwtAlg: JwtAlg;
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number of seconds or a count, got "${raw}"`);
  return value;
}

function readSettings(): Settings {
  const jwtAlg = (process.env.BENCH_JWT_ALG ?? 'RS256') as JwtAlg;
  return {
    // A zero-length measured run would divide by zero; zero warm-up simply skips it.
    seconds: envNumber('BENCH_DURATION', 5) || 5,
    warmupSeconds: envNumber('BENCH_WARMUP', 1),
    connections: Math.max(1, Math.floor(envNumber('BENCH_CONNECTIONS', 8))),
    jwtAlg,
  };
}

const PASSWORD = 'bench-correct-horse-battery-staple';
/** Accounts the login run cycles through. */
const USERS = 8;
const LOOPBACK = '127.0.0.1';

// ------------------------------------------------------------------------------------------------ server

interface Gatehouse {
  url: string;
  runtime: Runtime;
  dataDir: string;
  close(): Promise<void>;
}

/** The real server, configured like production except for limits high enough never to trip. */
async function startGatehouse(dataDir: string, settings: Settings, now?: () => number): Promise<Gatehouse> {
  // An explicit env, not process.env: a developer's .env must not change what is measured.
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HOST: LOOPBACK,
    PUBLIC_URL: `http://${LOOPBACK}`,
    DATA_DIR: dataDir,
    GATEHOUSE_SECRET: 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
    JWT_ALG: settings.jwtAlg,
    ...(settings.jwtAlg === 'HS256' ? { JWT_SECRET: 'bench-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz' } : {}),
    RATE_LIMIT_LOGIN_ACCOUNT: '1000000/1m',
    RATE_LIMIT_LOGIN_IP: '1000000/1m',
    RATE_LIMIT_SIGNUP_IP: '1000000/1h',
    RATE_LIMIT_IP: '10000000/1m',
  });
  const runtime = await openRuntime(config, { now });
  const app = await buildApp(runtime.ctx, runtime.database.db, runtime.log);
  try {
    await app.listen({ host: LOOPBACK, port: 0 });
  } catch (err) {
    await app.close();
    await runtime.close();
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://${LOOPBACK}:${port}`,
    runtime,
    dataDir,
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}

/** The floor under every Gatehouse route: Fastify with no plugins, hooks, schemas or database. */
async function startBareFastify(user: object): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify();
  const body = { user };
  app.get('/auth/me', async () => body);
  await app.listen({ host: LOOPBACK, port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://${LOOPBACK}:${port}`, close: () => app.close() };
}

// --------------------------------------------------------------------------------------- http set-up

interface PublicUser {
  id: string;
  role: string;
  [field: string]: unknown;
}

interface LoginAnswer {
  user: PublicUser;
  accessToken?: string;
  refreshToken?: string;
  /** `name=value` of the session cookie, session mode only. */
  cookie?: string;
}

async function postJson(url: string, body: object, expected: number): Promise<Response> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.status !== expected) throw new Error(`POST ${url}: expected ${expected}, got ${response.status} ${await response.text()}`);
  return response;
}

const emailOf = (i: number) => `bench-user-${i}@example.com`;

async function registerUsers(server: Gatehouse, count: number): Promise<string[]> {
  const emails = Array.from({ length: count }, (_, i) => emailOf(i));
  await Promise.all(emails.map((email, i) => postJson(`${server.url}/auth/register`, { email, password: PASSWORD, name: `Bench ${i}` }, 201)));
  return emails;
}

async function login(server: Gatehouse, email: string, mode: 'token' | 'session' = 'token'): Promise<LoginAnswer> {
  const response = await postJson(`${server.url}/auth/login`, { email, password: PASSWORD, mode }, 200);
  const answer = (await response.json()) as LoginAnswer;
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  return cookie ? { ...answer, cookie: cookie.split(';')[0] } : answer;
}

/** A probe before each load run, so a misconfigured run fails loudly instead of timing 401s. */
async function expectOk(url: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(url, { headers });
  if (response.status !== 200) throw new Error(`GET ${url}: expected 200, got ${response.status} ${await response.text()}`);
}

// -------------------------------------------------------------------------------------------- measuring

/** Runs one autocannon job in a fresh child process and waits for it to exit. */
function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // fork() passes on this process's execArgv, so the child also runs under `--import tsx`.
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

interface Ceiling {
  perSecond: number;
  ops: number;
  seconds: number;
}

/** Keeps `concurrency` calls of an async operation in flight for `seconds`: the same pressure as N connections. */
async function sustain(concurrency: number, seconds: number, op: () => Promise<unknown>): Promise<Ceiling> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let ops = 0;
  const lane = async () => {
    while (performance.now() < deadline) {
      await op();
      ops++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  // The last calls finish after the deadline; they are counted, so their time is too.
  const elapsed = (performance.now() - started) / 1000;
  return { perSecond: ops / elapsed, ops, seconds: elapsed };
}

async function sustainWithWarmup(settings: Settings, op: () => Promise<unknown>): Promise<Ceiling> {
  if (settings.warmupSeconds > 0) await sustain(settings.connections, settings.warmupSeconds, op);
  return sustain(settings.connections, settings.seconds, op);
}

/**
 * What SQLite itself allows for a write transaction shaped like a rotation's (claim one row, insert its
 * successor): better-sqlite3 directly, no Kysely, no HTTP, in a throwaway file beside the server's with the
 * same pragmas. better-sqlite3 is synchronous, so one loop is all the concurrency SQLite's single writer has.
 */
function sqliteTransactions(dataDir: string, settings: Settings): Ceiling {
  const db = new SQLite(path.join(dataDir, 'raw-baseline.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.exec(`
      CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE chain (hash TEXT PRIMARY KEY, parent_hash TEXT, created_at INTEGER NOT NULL);
      INSERT INTO counter (id, value, updated_at) VALUES (1, 0, 0);
    `);
    const update = db.prepare('UPDATE counter SET value = value + 1, updated_at = ? WHERE id = 1');
    const insert = db.prepare('INSERT INTO chain (hash, parent_hash, created_at) VALUES (?, ?, ?)');
    // Keys are sha256 digests in base64url, as refresh_tokens' are: random inserts into a text primary key.
    let parent: string | null = null;
    let n = 0;
    const step = db.transaction(() => {
      const hash = createHash('sha256').update(`chain-${n++}`).digest('base64url');
      const now = Date.now();
      update.run(now);
      insert.run(hash, parent, now);
      parent = hash;
    });
    const loop = (seconds: number): Ceiling => {
      const started = performance.now();
      const deadline = started + seconds * 1000;
      let ops = 0;
      while (performance.now() < deadline) {
        step();
        ops++;
      }
      const elapsed = (performance.now() - started) / 1000;
      return { perSecond: ops / elapsed, ops, seconds: elapsed };
    };
    if (settings.warmupSeconds > 0) loop(settings.warmupSeconds);
    return loop(settings.seconds);
  } finally {
    db.close();
  }
}

// ------------------------------------------------------------------------------------------ the benches

function loadJob(settings: Settings, url: string, extra: Pick<LoadJob, 'requests' | 'refresh' | 'pool'>): LoadJob {
  return { url, connections: settings.connections, warmupSeconds: settings.warmupSeconds, seconds: settings.seconds, ...extra };
}

async function benchLogins(server: Gatehouse, emails: string[], settings: Settings) {
  const requests: StaticRequest[] = emails.map((email) => ({
    method: 'POST',
    path: '/auth/login',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  }));
  const http = await runLoad(loadJob(settings, server.url, { requests }));

  // The same hash parameters the server stores, verified with the same concurrency as the connections.
  const hash = await hashPassword(PASSWORD);
  if (!(await verify(hash, PASSWORD))) throw new Error('argon2id baseline: the hash does not verify');
  const argon2 = await sustainWithWarmup(settings, () => verify(hash, PASSWORD));
  return { http, argon2 };
}

async function benchRefreshes(server: Gatehouse, emails: string[], settings: Settings) {
  // One session per connection for the warm-up and another for the measured run: a session whose token
  // was in flight when the warm-up stopped would otherwise start the measured run on its grace path.
  const sessions = await Promise.all(Array.from({ length: 2 * settings.connections }, (_, i) => login(server, emails[i % emails.length]!)));
  const tokens = sessions.map((s) => s.refreshToken!);
  const http = await runLoad(
    loadJob(settings, server.url, {
      refresh: { path: '/auth/refresh', warmupTokens: tokens.slice(0, settings.connections), tokens: tokens.slice(settings.connections) },
    }),
  );

  const sqlite = sqliteTransactions(server.dataDir, settings);

  // The runtime's own AccessTokens: the same key ring and algorithm that signs every refresh response.
  const { ctx } = server.runtime;
  const subject = { sub: sessions[0]!.user.id, sid: '00000000-0000-7000-8000-000000000000', role: sessions[0]!.user.role };
  const sign = await sustainWithWarmup(settings, () => ctx.tokens.sign(subject, ctx.now()));
  return { http, sqlite, sign };
}

async function benchMe(server: Gatehouse, emails: string[], settings: Settings) {
  const email = emails[0]!;
  const token = await login(server, email, 'token');
  const session = await login(server, email, 'session');
  if (!session.cookie) throw new Error('session-mode login set no session cookie');

  const bearerHeaders = { authorization: `Bearer ${token.accessToken}` };
  const cookieHeaders = { cookie: session.cookie };
  await expectOk(`${server.url}/auth/me`, bearerHeaders);
  await expectOk(`${server.url}/auth/me`, cookieHeaders);
  const bearer = await runLoad(loadJob(settings, server.url, { requests: [{ method: 'GET', path: '/auth/me', headers: bearerHeaders }] }));
  const cookie = await runLoad(loadJob(settings, server.url, { requests: [{ method: 'GET', path: '/auth/me', headers: cookieHeaders }] }));

  // Same headers as the Bearer run, so request size and parsing cost match; the bare app ignores them.
  const bare = await startBareFastify(token.user);
  try {
    await expectOk(`${bare.url}/auth/me`, bearerHeaders);
    const baseline = await runLoad(loadJob(settings, bare.url, { requests: [{ method: 'GET', path: '/auth/me', headers: bearerHeaders }] }));
    return { bearer, cookie, baseline };
  } finally {
    await bare.close();
  }
}

/**
 * POST /auth/mfa/verify with a TOTP code, per second. Each request needs a ticket nobody used and a code of a
 * time step its factor has not accepted yet (RFC 6238 §5.2: a step is accepted once per factor), so the
 * requests cannot be replayed like a login's; they are made beforehand and each is sent exactly once
 * (load.ts `pool`, a fixed number of requests rather than a duration).
 * - Its own server, on a clock frozen at one instant: then every code of the drift window (the previous,
 *   current and next step) stays valid for the whole run, and each factor signs in three times, in step
 *   order (the pool sends every account's step T-1 before any T, and T before T+1, thousands of requests
 *   apart, so no claim arrives out of order). The server's work per request is what it is with a moving
 *   clock: the ticket taken, the limits checked, the sealed secret opened, the window's HMACs, the step
 *   claimed in the database, then the sign-in written and its tokens signed.
 * - The accounts and factors are written straight through the stores (one argon2 hash shared by all; the
 *   password is never checked here), and the tickets are issued by the domain's own issueMfaChallenge, as a
 *   password login would after its argon2 verify: that cost is the login figure's, not this one's.
 * - Left in, as in production: the new-device check after each answer (the first sign-in of an account
 *   skips it, the two after it run it) and the pending-reset check.
 */
async function benchMfaVerify(dataDir: string, settings: Settings) {
  const frozen = Date.now();
  const server = await startGatehouse(dataDir, settings, () => frozen);
  try {
    const { ctx } = server.runtime;
    const verifies = Math.max(300, Math.floor(envNumber('BENCH_MFA_VERIFIES', 6000)));
    const warmups = settings.warmupSeconds > 0 ? Math.max(300, Math.floor(verifies / 5)) : 0;
    const passwordHash = await hashPassword(PASSWORD);
    const STEPS = [-1, 0, 1];
    /** Accounts enough for `count` verifies at three steps each; the bodies in step order. */
    const pool = async (count: number, tag: string): Promise<string[]> => {
      const accounts = await Promise.all(
        Array.from({ length: Math.ceil(count / STEPS.length) }, async (_, i) => {
          const user: User = { id: uuidv7(frozen), email: `bench-mfa-${tag}-${i}@example.com`, name: `MFA ${i}`, role: 'user', passwordHash, emailVerifiedAt: frozen, disabledAt: null, createdAt: frozen, updatedAt: frozen, lastLoginAt: null, locale: null };
          await ctx.users.create(user);
          const { factor, secret } = await enrolTotp(ctx, user, {});
          await ctx.factors.confirm(factor.id, frozen);
          return { user, secret };
        }),
      );
      const bodies: string[] = [];
      for (const offset of STEPS) {
        for (const { user, secret } of accounts) {
          const { mfaTicket } = await issueMfaChallenge(ctx, { user, amr: ['pwd'], mode: 'token', client: { ip: LOOPBACK, userAgent: null } });
          bodies.push(JSON.stringify({ mfaTicket, code: codeAt(secret, frozen + offset * TOTP_PERIOD_S * 1000) }));
        }
      }
      return bodies.slice(0, count);
    };
    const warmupBodies = await pool(warmups, 'warmup');
    const bodies = await pool(verifies, 'run');
    const http = await runLoad({ ...loadJob(settings, server.url, {}), pool: { path: '/auth/mfa/verify', warmupBodies, bodies } });
    return { http, verifies };
  } finally {
    await server.close();
  }
}

// ----------------------------------------------------------------------------------------------- report

type Results = {
  login: Awaited<ReturnType<typeof benchLogins>>;
  refresh: Awaited<ReturnType<typeof benchRefreshes>>;
  me: Awaited<ReturnType<typeof benchMe>>;
  mfa: Awaited<ReturnType<typeof benchMfaVerify>>;
};

const rate = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);
const times = (r: number) => `${r.toFixed(2)}×`;

function ratios(r: Results) {
  return {
    loginsPerArgon2Verify: ratio(r.login.http.perSecond, r.login.argon2.perSecond),
    refreshesPerSqliteTransaction: ratio(r.refresh.http.perSecond, r.refresh.sqlite.perSecond),
    refreshesPerTokenSign: ratio(r.refresh.http.perSecond, r.refresh.sign.perSecond),
    meBearerPerBareFastify: ratio(r.me.bearer.perSecond, r.me.baseline.perSecond),
    meSessionPerBareFastify: ratio(r.me.cookie.perSecond, r.me.baseline.perSecond),
  };
}

function environment(settings: Settings, loadAtStart: number) {
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // Not a git checkout: the commit is just left out.
  }
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    // argon2 (and WebCrypto signing) run on libuv's pool: its size caps hashing concurrency.
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    // Other work on the machine moves every figure; the load average before the bench started hints at it.
    loadAverage1mAtStart: Number(loadAtStart.toFixed(2)),
    jwtAlg: settings.jwtAlg,
    database: 'SQLite (WAL, synchronous=NORMAL)',
    commit,
  };
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
}

function printReport(r: Results, settings: Settings, env: ReturnType<typeof environment>): void {
  const q = ratios(r);
  const lines: string[] = [];
  lines.push(
    `Gatehouse bench · node ${env.node} · ${env.platform} · ${env.cpus} × ${env.cpuModel} · UV_THREADPOOL_SIZE ${env.uvThreadpoolSize}`,
    `${env.jwtAlg} · ${env.database} · ${settings.connections} connections · ${settings.seconds} s per run (+${settings.warmupSeconds} s warm-up) · load average at start ${env.loadAverage1mAtStart}`,
    '',
  );

  const httpWidths = [34, 9, 8, 8, 8, 7];
  lines.push(pad(['HTTP (autocannon; 200s only)', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors'], httpWidths));
  const httpRow = (name: string, l: LoadResult) =>
    pad([name, rate(l.perSecond), String(l.latencyMs.p50), String(l.latencyMs.p99), String(l.non2xx), String(l.errors)], httpWidths);
  lines.push(
    httpRow('POST /auth/login', r.login.http),
    httpRow('POST /auth/refresh (rotating)', r.refresh.http),
    httpRow('GET /auth/me, Bearer', r.me.bearer),
    httpRow('GET /auth/me, session cookie', r.me.cookie),
    httpRow('GET /auth/me, bare Fastify, no auth', r.me.baseline),
    httpRow('POST /auth/mfa/verify (TOTP)', r.mfa.http),
    '',
  );

  const ceilingWidths = [44, 9];
  lines.push(pad([`Ceilings (in-process, ${settings.connections} in flight)`, 'ops/s'], ceilingWidths));
  lines.push(
    pad(['argon2id verify (@node-rs/argon2)', rate(r.login.argon2.perSecond)], ceilingWidths),
    pad(['SQLite txn (BEGIN; UPDATE; INSERT; COMMIT)', rate(r.refresh.sqlite.perSecond)], ceilingWidths),
    pad([`ctx.tokens.sign() (${env.jwtAlg})`, rate(r.refresh.sign.perSecond)], ceilingWidths),
    '',
    'Ratios',
    `logins/s ${rate(r.login.http.perSecond)} vs argon2id ceiling ${rate(r.login.argon2.perSecond)} → ${times(q.loginsPerArgon2Verify)}`,
    `refreshes/s ${rate(r.refresh.http.perSecond)} vs SQLite txn ceiling ${rate(r.refresh.sqlite.perSecond)} → ${times(q.refreshesPerSqliteTransaction)}`,
    `refreshes/s ${rate(r.refresh.http.perSecond)} vs token-signing ceiling ${rate(r.refresh.sign.perSecond)} → ${times(q.refreshesPerTokenSign)}`,
    `me (Bearer) req/s ${rate(r.me.bearer.perSecond)} vs bare Fastify ${rate(r.me.baseline.perSecond)} → ${times(q.meBearerPerBareFastify)}`,
    `me (session) req/s ${rate(r.me.cookie.perSecond)} vs bare Fastify ${rate(r.me.baseline.perSecond)} → ${times(q.meSessionPerBareFastify)}`,
    `MFA verifies/s ${rate(r.mfa.http.perSecond)} (${r.mfa.verifies} single-use requests, frozen clock) beside password logins/s ${rate(r.login.http.perSecond)}`,
  );
  // Runs happen one after another, so load that comes and goes skews ratios as well as absolute figures.
  if (env.loadAverage1mAtStart > env.cpus / 2) {
    lines.push('', `warning: the machine was busy when the bench started (load average ${env.loadAverage1mAtStart} on ${env.cpus} CPUs); figures will be noisy`);
  }
  const dead = r.refresh.http.deadSessions ?? 0;
  if (dead > 0) lines.push('', `warning: ${dead} refresh connection(s) lost their session (a non-200 left them without a live token)`);
  console.log(lines.join('\n'));
}

function writeJson(r: Results, settings: Settings, env: ReturnType<typeof environment>): string {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'latest.json');
  const json = {
    generatedAt: new Date().toISOString(),
    environment: env,
    settings,
    http: { login: r.login.http, refresh: r.refresh.http, meBearer: r.me.bearer, meSession: r.me.cookie, bareFastify: r.me.baseline, mfaVerify: r.mfa.http },
    ceilings: { argon2idVerify: r.login.argon2, sqliteTransaction: r.refresh.sqlite, tokenSign: r.refresh.sign },
    ratios: ratios(r),
  };
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  return file;
}

// ------------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const settings = readSettings();
  const loadAtStart = os.loadavg()[0]!;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  let server: Gatehouse | null = null;
  try {
    server = await startGatehouse(dataDir, settings);
    const emails = await registerUsers(server, USERS);
    const results: Results = {
      login: await benchLogins(server, emails, settings),
      refresh: await benchRefreshes(server, emails, settings),
      me: await benchMe(server, emails, settings),
      mfa: await benchMfaVerify(mkdtempSync(path.join(dataDir, 'mfa-')), settings),
    };
    const env = environment(settings, loadAtStart);
    printReport(results, settings, env);
    console.log(`\nwrote ${path.relative(process.cwd(), writeJson(results, settings, env))}`);
  } finally {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
