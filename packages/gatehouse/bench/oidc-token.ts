// The OpenID provider's token endpoint, against the raw signing ceiling:
//   1. POST /oauth2/token, grant_type=authorization_code: code exchanges/s (each code is single use)
//   2. POST /oauth2/token, grant_type=refresh_token: refreshes/s (each connection rotates its own chain)
//   3. raw signatures/s of an ID token's signing input with a key of the same type (bench/ceilings.ts)
// Every exchange and every refresh signs one ID token (the client asks for `openid`); the access and refresh
// tokens are opaque rows. So the signature is the one piece of CPU work each request must do, and the ratio
// says how much of the rest (oidc-provider's Koa stack, client authentication, the adapter's reads and writes
// on SQLite, Gatehouse's session check) costs beside it.
//
// The real server (buildApp on SQLite in a temporary DATA_DIR, PUBLIC_URL = its loopback address, limits too
// high to trip) runs in this process; autocannon runs in a child process (bench/oidc-load.ts). Codes are made
// beforehand through the real authorization endpoint, by a browser that signed in once (each later
// authorization is one redirect straight back with a code), and each is sent exactly once: the exchange run is
// a fixed number of requests (BENCH_OIDC_CODES) rather than a duration. Codes live 60 s, so they are made
// right before the run that spends them. Prints a table; writes bench/results/oidc-token.json.
//
//   npm run bench:oidc                         (BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_JWT_ALG,
//   BENCH_OIDC_CODES=500 BENCH_DURATION=2 …    BENCH_OIDC_CODES; see bench/README.md)
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.ts';
import { openRuntime } from '../src/bootstrap.ts';
import { loadConfig, type JwtAlg } from '../src/config.ts';
import { SqlOidcClientStore } from '../src/db/oidc-store.ts';
import { createClient } from '../src/oidc/clients.ts';
import { createUser } from '../src/users/service.ts';
import { tokenSignatures } from './ceilings.ts';
import type { Ceiling } from './harness.ts';
import type { OidcLoadJob, OidcLoadResult } from './oidc-load.ts';

const LOOPBACK = '127.0.0.1';
const PASSWORD = 'bench-correct-horse-battery-staple';
const REDIRECT = 'http://127.0.0.1:9/callback';
const VERIFIER = 'bench-pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');
/** Codes made at once by the code maker (each is a few requests to the same server). */
const MAKERS = 4;
/** Codes live 60 s (provider.ts): past this, making them took too long for the run to be sound. */
const CODE_BUDGET_MS = 40_000;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

const settings = {
  seconds: envNumber('BENCH_DURATION', 5) || 5,
  warmupSeconds: envNumber('BENCH_WARMUP', 1),
  connections: Math.max(1, Math.floor(envNumber('BENCH_CONNECTIONS', 8))),
  jwtAlg: (process.env.BENCH_JWT_ALG ?? 'RS256') as JwtAlg,
  codes: Math.max(10, Math.floor(envNumber('BENCH_OIDC_CODES', 2000))),
};
if (settings.jwtAlg === 'HS256') throw new Error('BENCH_JWT_ALG=HS256: the OpenID provider needs an asymmetric algorithm (RS256, ES256 or EdDSA)');

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, LOOPBACK, resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function runOidcLoad(job: OidcLoadJob): Promise<OidcLoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./oidc-load.ts', import.meta.url)), { stdio: 'inherit' });
    let answer: { result?: OidcLoadResult; error?: string } = {};
    child.once('message', (message) => (answer = message as typeof answer));
    child.once('error', reject);
    child.once('exit', (code) => (answer.result ? resolve(answer.result) : reject(new Error(`load generator failed (exit ${code}): ${answer.error ?? 'no result'}`))));
    child.send(job);
  });
}

/** A browser: the Gatehouse session cookie and whatever cookies the provider sets on the way. */
class Browser {
  private readonly jar = new Map<string, string>();
  constructor(private readonly cookie: string) {}

  /** Follows redirects from `url` until one leaves for the client's redirect URI; returns that URL. */
  async authorize(url: URL): Promise<URL> {
    let current = url;
    for (let hop = 0; hop < 12; hop++) {
      const res = await fetch(current, { redirect: 'manual', headers: { cookie: [this.cookie, ...[...this.jar].map(([k, v]) => `${k}=${v}`)].join('; ') } });
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const at = pair!.indexOf('=');
        const name = pair!.slice(0, at).trim();
        const value = pair!.slice(at + 1).trim();
        if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.jar.delete(name);
        else this.jar.set(name, value);
      }
      const location = res.headers.get('location');
      await res.arrayBuffer();
      if (res.status < 300 || res.status >= 400 || !location) throw new Error(`authorization stopped at ${current.pathname} with ${res.status}`);
      current = new URL(location, current);
      if (current.href.startsWith(REDIRECT)) return current;
    }
    throw new Error('authorization: too many redirects');
  }
}

function authorizationUrl(issuer: string, clientId: string, params: Record<string, string> = {}): URL {
  const url = new URL('/oauth2/authorize', issuer);
  for (const [k, v] of Object.entries({ client_id: clientId, response_type: 'code', redirect_uri: REDIRECT, scope: 'openid', code_challenge: CHALLENGE, code_challenge_method: 'S256', state: 'bench', nonce: 'bench', ...params })) url.searchParams.set(k, v);
  return url;
}

function codeOf(callback: URL): string {
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code at the redirect URI: ${callback.search}`);
  return code;
}

const exchangeBody = (code: string) => new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER }).toString();

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-oidc-'));
  const port = await freePort();
  const issuer = `http://${LOOPBACK}:${port}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HOST: LOOPBACK,
    PUBLIC_URL: issuer,
    DATA_DIR: dataDir,
    GATEHOUSE_SECRET: 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
    JWT_ALG: settings.jwtAlg,
    RATE_LIMIT_LOGIN_ACCOUNT: '1000000/1m',
    RATE_LIMIT_LOGIN_IP: '1000000/1m',
    RATE_LIMIT_SIGNUP_IP: '1000000/1h',
    RATE_LIMIT_IP: '10000000/1m',
  });
  const runtime = await openRuntime(config);
  const app = await buildApp(runtime.ctx, runtime.database.db, runtime.log);
  try {
    await app.listen({ host: LOOPBACK, port });
    const { ctx } = runtime;
    const { client, secret } = await createClient({ clients: new SqlOidcClientStore(runtime.database.db), now: ctx.now }, { name: 'Bench RP', redirectUris: [REDIRECT], firstParty: true });
    const authorization = `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}`;
    const email = 'bench-oidc@example.com';
    await createUser(ctx, { email, password: PASSWORD, name: 'Bench', emailVerified: true });
    const login = await fetch(`${issuer}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD, mode: 'session' }) });
    if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith('gh_session='))!.split(';')[0]!;
    const browser = new Browser(cookie);

    const token = async (body: string) => {
      const res = await fetch(`${issuer}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization }, body });
      const json = (await res.json()) as Record<string, string>;
      if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };

    // The first authorization signs the browser in to the provider (interaction, then back); one exchange
    // checks the whole path and gives an ID token whose signing input the ceiling signs.
    const first = await token(exchangeBody(codeOf(await browser.authorize(authorizationUrl(issuer, client.clientId)))));
    const signingInput = first.id_token!.split('.').slice(0, 2).join('.');

    const makeCodes = async (count: number): Promise<string[]> => {
      const codes: string[] = [];
      let left = count;
      await Promise.all(
        Array.from({ length: MAKERS }, async () => {
          while (left > 0) {
            left--;
            codes.push(codeOf(await browser.authorize(authorizationUrl(issuer, client.clientId))));
          }
        }),
      );
      return codes;
    };

    // 1. Code exchanges: the codes are made (warm-up's and measured run's), then spent at once.
    const warmupCodes = settings.warmupSeconds > 0 ? Math.max(settings.connections, Math.floor(settings.codes / 5)) : 0;
    const madeAt = performance.now();
    const codes = await makeCodes(warmupCodes + settings.codes);
    const makingMs = performance.now() - madeAt;
    if (makingMs > CODE_BUDGET_MS) console.warn(`making ${codes.length} codes took ${(makingMs / 1000).toFixed(1)} s of their 60 s: lower BENCH_OIDC_CODES`);
    const exchanges = await runOidcLoad({
      url: issuer,
      path: '/oauth2/token',
      connections: settings.connections,
      authorization,
      pool: { warmupBodies: codes.slice(0, warmupCodes).map(exchangeBody), bodies: codes.slice(warmupCodes).map(exchangeBody) },
    });

    // 2. Refreshes: one chain per connection for the warm-up and one for the measured run, each from a sign-in
    // with offline_access (which OpenID Connect grants only with prompt=consent).
    const chains: string[] = [];
    for (let i = 0; i < settings.connections * 2; i++) {
      const callback = await browser.authorize(authorizationUrl(issuer, client.clientId, { scope: 'openid offline_access', prompt: 'consent' }));
      const tokens = await token(exchangeBody(codeOf(callback)));
      if (!tokens.refresh_token) throw new Error('no refresh token with offline_access');
      chains.push(tokens.refresh_token);
    }
    const refreshes = await runOidcLoad({
      url: issuer,
      path: '/oauth2/token',
      connections: settings.connections,
      authorization,
      refresh: { warmupSeconds: settings.warmupSeconds, seconds: settings.seconds, warmupTokens: chains.slice(0, settings.connections), tokens: chains.slice(settings.connections) },
    });

    // 3. The ceiling: the same ID token's signing input, signed raw (all cores, and one core for reference).
    const cores = os.availableParallelism();
    const signatures = await tokenSignatures(settings.jwtAlg, signingInput, cores, { seconds: settings.seconds, warmupSeconds: settings.warmupSeconds });

    report({ exchanges, refreshes, signatures, cores, codesMadeSeconds: makingMs / 1000, codes: codes.length });
  } finally {
    await app.close();
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(r: { exchanges: OidcLoadResult; refreshes: OidcLoadResult; signatures: { allCores: Ceiling; oneCore: Ceiling }; cores: number; codesMadeSeconds: number; codes: number }): void {
  const fixed = (n: number, digits = 0) => n.toFixed(digits);
  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : '–');
  const rows = [
    ['POST /oauth2/token code exchanges/s', r.exchanges],
    ['POST /oauth2/token refreshes/s', r.refreshes],
  ] as const;
  const env = { node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', vcpus: r.cores, loadavg: os.loadavg().map((l) => Number(l.toFixed(2))), uvThreadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)', ...settings };
  console.log(`\nOpenID provider token endpoint (${settings.jwtAlg}, ${settings.connections} connections, ${env.cpu}, ${r.cores} vCPUs, load ${env.loadavg.join(' ')})`);
  console.log(`${'figure'.padEnd(40)} ${'per s'.padStart(9)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'÷ sign, all cores'.padStart(18)} ${'÷ sign, 1 core'.padStart(15)}  non-200`);
  for (const [name, result] of rows) {
    const failed = result.non2xx + result.errors + result.timeouts;
    console.log(
      `${name.padEnd(40)} ${fixed(result.perSecond).padStart(9)} ${fixed(result.latencyMs.p50, 1).padStart(7)} ${fixed(result.latencyMs.p99, 1).padStart(7)} ${ratio(result.perSecond, r.signatures.allCores.perSecond).padStart(18)} ${ratio(result.perSecond, r.signatures.oneCore.perSecond).padStart(15)}  ${failed}${result.firstError ? ` (${result.firstError})` : ''}`,
    );
  }
  console.log(`${`raw ${settings.jwtAlg} signatures/s, all cores`.padEnd(40)} ${fixed(r.signatures.allCores.perSecond).padStart(9)}`);
  console.log(`${`raw ${settings.jwtAlg} signatures/s, one core`.padEnd(40)} ${fixed(r.signatures.oneCore.perSecond).padStart(9)}`);
  console.log(`(${r.codes} codes made in ${r.codesMadeSeconds.toFixed(1)} s through /oauth2/authorize; ${r.refreshes.deadChains ?? 0} refresh chains broken)`);
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const json = {
    at: new Date().toISOString(),
    env,
    figures: { codeExchangesPerSecond: r.exchanges, refreshesPerSecond: r.refreshes },
    ceilings: { signaturesAllCores: r.signatures.allCores, signaturesOneCore: r.signatures.oneCore },
    ratios: {
      exchangesToSignaturesAllCores: r.exchanges.perSecond / r.signatures.allCores.perSecond,
      refreshesToSignaturesAllCores: r.refreshes.perSecond / r.signatures.allCores.perSecond,
      exchangesToSignaturesOneCore: r.exchanges.perSecond / r.signatures.oneCore.perSecond,
      refreshesToSignaturesOneCore: r.refreshes.perSecond / r.signatures.oneCore.perSecond,
    },
  };
  writeFileSync(path.join(dir, 'oidc-token.json'), `${JSON.stringify(json, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
