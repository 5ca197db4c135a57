// The ceilings Gatehouse's hot paths are measured against, without HTTP and without Gatehouse's code:
// what the machine allows for the one expensive thing each route must do.
import { Algorithm, hash as argon2Hash, verify } from '@node-rs/argon2';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { createHash, createHmac, generateKeyPairSync, sign, verify as verifySignature, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import { hashPassword } from '../src/crypto/passwords.ts';
import type { JwtAlg } from '../src/config.ts';
import { loop, sustain, type Ceiling } from './harness.ts';

export interface Timing {
  seconds: number;
  warmupSeconds: number;
}

async function withWarmup<T>(timing: Timing, run: (seconds: number) => Promise<T> | T): Promise<T> {
  if (timing.warmupSeconds > 0) await run(timing.warmupSeconds);
  return run(timing.seconds);
}

/** Keycloak's sizing guide's parameters (argon2id m=7 MiB, t=5, p=1): its 15 password logins/s per vCPU. */
export const KEYCLOAK_ARGON2 = { memoryCost: 7168, timeCost: 5, parallelism: 1 } as const;

/**
 * argon2id verifies of a hash made by the server's own hashPassword (same parameters), `lanes` at once; or,
 * with `params`, of a hash made with those parameters instead.
 */
export async function argon2Verifies(password: string, lanes: number, timing: Timing, params?: { memoryCost: number; timeCost: number; parallelism: number }): Promise<Ceiling> {
  const hash = params ? await argon2Hash(password, { algorithm: Algorithm.Argon2id, ...params }) : await hashPassword(password);
  if (!(await verify(hash, password))) throw new Error('argon2id ceiling: the hash does not verify');
  return withWarmup(timing, (seconds) => sustain(lanes, seconds, () => verify(hash, password)));
}

// Everything about one algorithm's raw signature in one row: node:crypto, no JOSE library.
const SIGNERS: Record<JwtAlg, () => { digest: string | null; key: KeyObject | SignKeyObjectInput | Buffer }> = {
  RS256: () => ({ digest: 'sha256', key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }),
  ES256: () => ({ digest: 'sha256', key: { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, dsaEncoding: 'ieee-p1363' } }),
  EdDSA: () => ({ digest: null, key: generateKeyPairSync('ed25519').privateKey }),
  HS256: () => ({ digest: null, key: Buffer.alloc(32, 7) }),
};

/**
 * Raw signatures of one access token's signing input (`header.payload` of a real Gatehouse token) with a
 * fresh key of the same type: on all cores through node:crypto's asynchronous sign (libuv's thread pool),
 * `lanes` at once, and on one core synchronously. HS256 has no asynchronous form: both are the sync HMAC.
 */
export async function tokenSignatures(alg: JwtAlg, signingInput: string, lanes: number, timing: Timing): Promise<{ allCores: Ceiling; oneCore: Ceiling }> {
  const { digest, key } = SIGNERS[alg]();
  const data = Buffer.from(signingInput);
  const syncSign = alg === 'HS256' ? () => createHmac('sha256', key as Buffer).update(data).digest('base64url') : () => sign(digest, data, key as KeyObject).toString('base64url');
  const asyncSign =
    alg === 'HS256'
      ? async () => syncSign()
      : () =>
          new Promise<string>((resolve, reject) =>
            sign(digest, data, key as KeyObject, (err, signature) => (err ? reject(err) : resolve(signature.toString('base64url')))),
          );
  const allCores = await withWarmup(timing, (seconds) => sustain(lanes, seconds, asyncSign));
  const oneCore = await withWarmup(timing, (seconds) => loop(seconds, syncSign));
  return { allCores, oneCore };
}

/** A WebAuthn assertion's parts (as an authenticator sends them, decoded) and the credential's public key. */
export interface Assertion {
  publicKey: KeyObject;
  authenticatorData: Buffer;
  clientDataJSON: Buffer;
  /** ES256 signature, DER-encoded as authenticators give it. */
  signature: Buffer;
}

/**
 * The CPU work a passkey sign-in cannot skip, one after the other, `lanes` at once: the assertion's ES256
 * verification (SHA-256 of its clientDataJSON, then ECDSA P-256 over authenticatorData ‖ that hash, through
 * node:crypto's asynchronous `verify` on libuv's thread pool) and one access token's signature (its real
 * `header.payload`, a fresh key of the server's type, as tokenSignatures' all-cores figure). No HTTP, no
 * challenge, no database, no WebAuthn library: what the machine allows for those two operations.
 */
export async function passkeySignInCeiling(alg: JwtAlg, signingInput: string, assertion: Assertion, lanes: number, timing: Timing): Promise<Ceiling> {
  const { digest, key } = SIGNERS[alg]();
  const data = Buffer.from(signingInput);
  const signToken =
    alg === 'HS256'
      ? async () => createHmac('sha256', key as Buffer).update(data).digest('base64url')
      : () => new Promise<string>((resolve, reject) => sign(digest, data, key as KeyObject, (err, signature) => (err ? reject(err) : resolve(signature.toString('base64url')))));
  const verifyAssertion = () =>
    new Promise<void>((resolve, reject) => {
      const signed = Buffer.concat([assertion.authenticatorData, createHash('sha256').update(assertion.clientDataJSON).digest()]);
      verifySignature('sha256', signed, assertion.publicKey, assertion.signature, (err, ok) => (err ? reject(err) : ok ? resolve() : reject(new Error('passkey ceiling: the assertion does not verify'))));
    });
  const signIn = async () => {
    await verifyAssertion();
    await signToken();
  };
  await signIn();
  return withWarmup(timing, (seconds) => sustain(lanes, seconds, signIn));
}

// One rotation as the server's SQL does it: read the presented token and its session, claim the token,
// insert its successor, slide the session. Table and column names are Gatehouse's.
const ROTATION = {
  findToken: 'select * from refresh_tokens where hash = ?',
  findSession: 'select * from sessions where id = ?',
  claim: 'update refresh_tokens set used_at = ? where hash = ? and used_at is null',
  insert: 'insert into refresh_tokens (hash, session_id, parent_hash, created_at, used_at, expires_at) values (?, ?, ?, ?, null, ?) on conflict (hash) do nothing',
  touch: 'update sessions set last_used_at = ?, expires_at = ? where id = ?',
};
const WEEK_MS = 7 * 24 * 3600_000;
const digest = (text: string) => createHash('sha256').update(text).digest('base64url');

/** Chains of rotations on the server's own SQLite file, better-sqlite3 directly, the server's pragmas. */
export function sqliteRotations(file: string, timing: Timing): Ceiling {
  const db = new SQLite(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const session = db.prepare("select id from sessions where mode = 'token' limit 1").get() as { id: string } | undefined;
    if (!session) throw new Error('SQLite rotation ceiling: the server left no token-mode session to rotate in');
    const statements = Object.fromEntries(Object.entries(ROTATION).map(([name, text]) => [name, db.prepare(text)])) as Record<keyof typeof ROTATION, SQLite.Statement>;
    let presented = digest(`sqlite-chain-start-${process.pid}`);
    statements.insert.run(presented, session.id, null, Date.now(), Date.now() + WEEK_MS);
    let n = 0;
    const rotate = db.transaction(() => {
      const now = Date.now();
      const token = statements.findToken.get(presented) as { session_id: string } | undefined;
      if (!token) throw new Error('SQLite rotation ceiling: the chain broke');
      statements.findSession.get(token.session_id);
      if (statements.claim.run(now, presented).changes !== 1) throw new Error('SQLite rotation ceiling: claim failed');
      const successor = digest(`${presented}:${n++}`);
      statements.insert.run(successor, token.session_id, presented, now, now + WEEK_MS);
      statements.touch.run(now, now + WEEK_MS, token.session_id);
      presented = successor;
    });
    if (timing.warmupSeconds > 0) loop(timing.warmupSeconds, rotate);
    return loop(timing.seconds, rotate);
  } finally {
    db.close();
  }
}

/**
 * The same rotations on the server's PostgreSQL database through pg directly: `lanes` chains at once (each
 * on its own session, as each load connection has), on a pool as large as the server's.
 */
export async function postgresRotations(url: string, lanes: number, poolSize: number, timing: Timing): Promise<Ceiling> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client's error (a backend terminated from outside) would otherwise crash the whole bench; a query's
  // error still rejects the rotation that ran it.
  pool.on('error', () => {});
  const numbered = (text: string) => {
    let i = 0;
    return text.replace(/\?/g, () => `$${++i}`);
  };
  const q = Object.fromEntries(Object.entries(ROTATION).map(([name, text]) => [name, numbered(text)])) as Record<keyof typeof ROTATION, string>;
  try {
    const { rows } = await pool.query<{ id: string }>("select id from sessions where mode = 'token' limit $1", [lanes]);
    if (rows.length === 0) throw new Error('PostgreSQL rotation ceiling: the server left no token-mode session to rotate in');
    const chains = await Promise.all(
      Array.from({ length: lanes }, async (_, i) => {
        const presented = digest(`pg-chain-start-${process.pid}-${i}`);
        const now = Date.now();
        await pool.query(q.insert, [presented, rows[i % rows.length]!.id, null, now, now + WEEK_MS]);
        return { presented, n: 0 };
      }),
    );
    const rotate = async (lane: number) => {
      const chain = chains[lane]!;
      const client = await pool.connect();
      try {
        const now = Date.now();
        await client.query('begin');
        const token = (await client.query<{ session_id: string }>(q.findToken, [chain.presented])).rows[0];
        if (!token) throw new Error('PostgreSQL rotation ceiling: the chain broke');
        await client.query(q.findSession, [token.session_id]);
        const claimed = await client.query(q.claim, [now, chain.presented]);
        if (claimed.rowCount !== 1) throw new Error('PostgreSQL rotation ceiling: claim failed');
        const successor = digest(`${chain.presented}:${chain.n++}`);
        await client.query(q.insert, [successor, token.session_id, chain.presented, now, now + WEEK_MS]);
        await client.query(q.touch, [now, now + WEEK_MS, token.session_id]);
        await client.query('commit');
        chain.presented = successor;
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    };
    return await withWarmup(timing, (seconds) => sustain(lanes, seconds, rotate));
  } finally {
    await pool.end();
  }
}
