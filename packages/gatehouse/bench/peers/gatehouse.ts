// Gatehouse itself, in its own process and configured as in production: NODE_ENV=production, an https
// PUBLIC_URL (Secure cookies, HSTS), a strong GATEHOUSE_SECRET, JSON request logs at `info` (to a file),
// metrics, helmet, CORS, the revocation check and every rate limit on. Only RATE_LIMIT_IP and
// RATE_LIMIT_SIGNUP_IP are raised, because the whole load comes from one address; the limiter still counts
// every request. Started by bench/compare.ts with fork(); sends { port } over IPC and stops on SIGTERM.
//   BENCH_DATA_DIR      data directory (SQLite file, logs)
//   BENCH_DATABASE_URL  PostgreSQL instead of SQLite (optional)
//   BENCH_REDIS_URL     Redis for the shared state (optional; with PostgreSQL only)
//   BENCH_JWT_ALG       JWT_ALG (default RS256)
//   BENCH_FROZEN_CLOCK  1: the server's clock stands still at start, for single-use MFA verifies (see
//                       bench/run.ts benchMfaVerify); the bench then asks for the requests over IPC
//                       ({ mfaPool: { count, tag } } → { mfaPool: bodies }).
// Passkey sign-ins (bench/passkey-signin.ts) enrol their accounts over IPC in two steps, on any clock:
//   { passkeyOptions: { count, tag } }  → { passkeyOptions: { rpId, origin, users: [{ userId, options }] } }
//   { passkeyRegister: [{ userId, response }] } → { passkeyRegistered: n }
import { destination } from 'pino';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buildApp as realBuildApp } from '../../src/app.ts';
import { openRuntime } from '../../src/bootstrap.ts';
import { loadConfig, type JwtAlg } from '../../src/config.ts';
import { hashPassword } from '../../src/crypto/passwords.ts';
import { uuidv7 } from '../../src/crypto/random.ts';
import { enrolTotp } from '../../src/factors/service.ts';
import { codeAt, TOTP_PERIOD_S } from '../../src/methods/totp/totp.ts';
import { registerPasskey, registrationOptions, type CreationOptions } from '../../src/methods/passkeys/service.ts';
import { issueMfaChallenge } from '../../src/sign-in/mfa-challenge.ts';
import type { User } from '../../src/users/store.ts';

const BENCH_PUBLIC_URL = 'https://auth.bench.example';

const dataDir = process.env.BENCH_DATA_DIR;
if (!dataDir) throw new Error('BENCH_DATA_DIR is required');
const jwtAlg = (process.env.BENCH_JWT_ALG || 'RS256') as JwtAlg;

// An explicit env, not process.env: a developer's .env must not change what is measured.
const config = loadConfig({
  NODE_ENV: 'production',
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'info',
  HOST: '127.0.0.1',
  PUBLIC_URL: BENCH_PUBLIC_URL,
  DATA_DIR: dataDir,
  GATEHOUSE_SECRET: 'bench-Q2h1bmtzT2ZSYW5kb21uZXNzRm9yVGhlQmVuY2g-9f8e7d6c',
  JWT_ALG: jwtAlg,
  ...(jwtAlg === 'HS256' ? { JWT_SECRET: 'bench-jwt-c2VjcmV0Rm9yVGhlSFMyNTZCZW5jaFJ1bg-0a1b2c3d4e' } : {}),
  ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
  ...(process.env.BENCH_REDIS_URL ? { REDIS_URL: process.env.BENCH_REDIS_URL } : {}),
  // Production refuses to start without these: mail to the outbox on purpose, metrics behind a token.
  MAIL_OUTBOX: 'true',
  METRICS_TOKEN: 'bench-metrics-token-0123456789',
  RATE_LIMIT_IP: '100000000/1m',
  RATE_LIMIT_SIGNUP_IP: '100000/1h',
});

const logStream = destination({ dest: path.join(dataDir, 'gatehouse.log'), sync: false, mkdir: true });
const frozen = process.env.BENCH_FROZEN_CLOCK === '1' ? Date.now() : null;
const runtime = await openRuntime(config, { logStream, redisPrefix: `gatehouse-bench-${process.pid}:`, ...(frozen !== null ? { now: () => frozen } : {}) });
const buildApp = process.env.BENCH_EXPERIMENTAL_APP ? (await import(process.env.BENCH_EXPERIMENTAL_APP)).buildApp as typeof realBuildApp : realBuildApp;
const app = await buildApp(runtime.ctx, runtime.database.db, runtime.log);
await app.listen({ host: '127.0.0.1', port: 0 });

/**
 * `count` single-use POST /auth/mfa/verify bodies, as bench/run.ts makes them: accounts and confirmed TOTP
 * factors written through the stores, tickets by the domain's issueMfaChallenge (what a password login does
 * after its argon2 verify), and each factor's codes for the previous, current and next step, in step order.
 */
async function mfaPool(count: number, tag: string): Promise<string[]> {
  if (frozen === null) throw new Error('MFA pools need BENCH_FROZEN_CLOCK=1');
  const { ctx } = runtime;
  const passwordHash = await hashPassword('bench-mfa-unused-password');
  const STEPS = [-1, 0, 1];
  const accounts = [];
  for (let i = 0; i < Math.ceil(count / STEPS.length); i++) {
    const user: User = { id: uuidv7(frozen), email: `bench-mfa-${tag}-${i}@example.com`, name: `MFA ${i}`, role: 'user', passwordHash, emailVerifiedAt: frozen, disabledAt: null, createdAt: frozen, updatedAt: frozen, lastLoginAt: null, locale: null };
    await ctx.users.create(user);
    const { factor, secret } = await enrolTotp(ctx, user, {});
    await ctx.factors.confirm(factor.id, frozen);
    accounts.push({ user, secret });
  }
  const bodies: string[] = [];
  for (const offset of STEPS) {
    for (const { user, secret } of accounts) {
      const { mfaTicket } = await issueMfaChallenge(ctx, { user, amr: ['pwd'], mode: 'token', client: { ip: '127.0.0.1', userAgent: null } });
      bodies.push(JSON.stringify({ mfaTicket, code: codeAt(secret, frozen + offset * TOTP_PERIOD_S * 1000) }));
    }
  }
  return bodies.slice(0, count);
}
process.on('message', (message: { mfaPool?: { count: number; tag: string } }) => {
  if (!message.mfaPool) return;
  mfaPool(message.mfaPool.count, message.mfaPool.tag).then(
    (bodies) => process.send!({ mfaPool: bodies }),
    (err: Error) => process.send!({ mfaPoolError: err.stack ?? String(err) }),
  );
});

/**
 * Accounts for passkey sign-ins, enrolled as a user would be (bench/passkey-signin.ts): step 1 writes `count`
 * accounts through the store (one password hash shared by all; no password login is measured) and answers the
 * domain's own registrationOptions for each, bound to a setup session id; step 2 takes what the bench's software
 * authenticator made of them and registers each through registerPasskey (challenge, attestation verified, the
 * factor, its recovery codes and audit event in one transaction, the owner's notice), then waits for the
 * notices' mail so that none is written during the measured run.
 */
const PASSKEY_SETUP_SESSION = 'bench-passkey-setup';
const passkeyAccounts = new Map<string, User>();
async function passkeyOptions(count: number, tag: string): Promise<{ rpId: string; origin: string; users: Array<{ userId: string; options: CreationOptions }> }> {
  const { ctx } = runtime;
  const passwordHash = await hashPassword('bench-passkey-unused-password');
  const users = [];
  for (let i = 0; i < count; i++) {
    const now = ctx.now();
    const user: User = { id: uuidv7(now), email: `bench-passkey-${tag}-${i}@example.com`, name: `Passkey ${i}`, role: 'user', passwordHash, emailVerifiedAt: now, disabledAt: null, createdAt: now, updatedAt: now, lastLoginAt: null, locale: null };
    await ctx.users.create(user);
    passkeyAccounts.set(user.id, user);
    users.push({ userId: user.id, options: await registrationOptions(ctx, user, PASSKEY_SETUP_SESSION) });
  }
  return { rpId: ctx.config.webauthn.rpId, origin: ctx.config.webauthn.origins[0]!, users };
}
async function passkeyRegister(registrations: Array<{ userId: string; response: unknown }>): Promise<number> {
  const { ctx } = runtime;
  for (const { userId, response } of registrations) {
    const user = passkeyAccounts.get(userId);
    if (!user) throw new Error(`no passkey account ${userId} was set up`);
    await registerPasskey(ctx, user, PASSKEY_SETUP_SESSION, { response: response as never, name: 'Bench passkey' }, { ip: '127.0.0.1', userAgent: null });
  }
  await ctx.background.drain();
  return registrations.length;
}
process.on('message', (message: { passkeyOptions?: { count: number; tag: string }; passkeyRegister?: Array<{ userId: string; response: unknown }> }) => {
  const failed = (err: Error) => process.send!({ passkeyError: err.stack ?? String(err) });
  if (message.passkeyOptions) passkeyOptions(message.passkeyOptions.count, message.passkeyOptions.tag).then((answer) => process.send!({ passkeyOptions: answer }), failed);
  else if (message.passkeyRegister) passkeyRegister(message.passkeyRegister).then((n) => process.send!({ passkeyRegistered: n }), failed);
});

process.send?.({ port: (app.server.address() as AddressInfo).port, publicUrl: config.publicUrl });
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => runtime.close())
    .then(() => logStream.flushSync())
    .finally(() => process.exit(0));
});
