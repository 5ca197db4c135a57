import { Algorithm, hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';

// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
const ARGON2_OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
const CURRENT_PARAMS = `$argon2id$v=19$m=${ARGON2_OPTIONS.memoryCost},t=${ARGON2_OPTIONS.timeCost},p=${ARGON2_OPTIONS.parallelism}$`;
const BCRYPT = /^\$2[aby]\$\d{2}\$/;

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash is bcrypt or older argon2 parameters: store a new one after this successful login. */
  needsRehash: boolean;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export async function verifyPassword(storedHash: string, password: string): Promise<PasswordCheck> {
  if (storedHash.startsWith('$argon2')) {
    const ok = await verify(storedHash, password).catch(() => false);
    return { ok, needsRehash: ok && !storedHash.startsWith(CURRENT_PARAMS) };
  }
  if (BCRYPT.test(storedHash)) {
    // Imported hashes only: bcrypt reads the first 72 bytes, as the system that made them did.
    const ok = await bcrypt.compare(password, storedHash).catch(() => false);
    return { ok, needsRehash: ok };
  }
  return { ok: false, needsRehash: false };
}

export function isSupportedHash(storedHash: string): boolean {
  return storedHash.startsWith('$argon2id$') || BCRYPT.test(storedHash);
}

let dummyHash: Promise<string> | undefined;

/** Spends the same argon2id work as a real check, for unknown e-mails, so timing does not reveal accounts. */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword(randomBytes(16).toString('base64url'));
  await verify(await dummyHash, password).catch(() => false);
}

/**
 * Password hashing with bounded work. At most `concurrency` hashes run at once (by default one per core; argon2
 * runs on libuv's thread pool, which file and DNS work share); at most `queueMax` more wait. Past that, the caller
 * gets 503 at once: a login flood is refused in microseconds instead of queueing without bound and starving
 * refreshes, token checks and health checks, which never hash.
 */
/** A password check and how long its hashing work took (queueing excluded). */
export interface TimedCheck extends PasswordCheck {
  workMs: number;
}

/** A kind of hash not checked for this long no longer sets the floor. */
const FLOOR_WINDOW_MS = 20 * 60_000;
const FLOOR_HEADROOM = 1.3;

/** What makes checks take different times: the algorithm and its parameters. */
function hashKind(storedHash: string | null): string {
  if (storedHash === null) return 'dummy';
  // `$2b$10$`, or `$argon2id$v=19$m=19456,t=2,p=1$`: the salt and hash that follow are not part of the kind.
  return /^\$2[aby]\$\d{2}\$/.exec(storedHash)?.[0] ?? /^\$argon2\w+\$v=\d+\$[^$]*\$/.exec(storedHash)?.[0] ?? 'other';
}

export class PasswordHasher {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** A moving average of check time per kind of hash; the slowest kind is the floor failed logins are padded to. */
  private readonly checkTimes = new Map<string, { averageMs: number; seenAt: number }>();

  constructor(
    readonly concurrency: number,
    readonly queueMax: number,
    /** Told of each refusal (for the metrics). */
    private readonly onRefused: () => void = () => {},
  ) {}

  /** With no HASH_QUEUE_MAX, the queue holds about one second of work: one hash is timed at start. */
  static async open(options: { concurrency: number; queueMax: number | null; onRefused?: () => void }): Promise<PasswordHasher> {
    if (options.queueMax !== null) return new PasswordHasher(options.concurrency, options.queueMax, options.onRefused);
    const started = performance.now();
    await hashPassword(randomBytes(16).toString('base64url'));
    const ms = Math.max(1, performance.now() - started);
    return new PasswordHasher(options.concurrency, Math.max(options.concurrency, Math.round((options.concurrency * 1000) / ms)), options.onRefused);
  }

  /** Hashes waiting for a slot, and hashes running. */
  get load(): { queued: number; running: number } {
    return { queued: this.waiting.length, running: this.running };
  }

  hash(password: string): Promise<string> {
    return this.run(() => hashPassword(password));
  }

  verify(storedHash: string, password: string): Promise<TimedCheck> {
    return this.run(() => this.timed(hashKind(storedHash), () => verifyPassword(storedHash, password)));
  }

  /** The same work as verify, for an unknown account; it queues like a real check so timing stays equal. */
  burn(password: string): Promise<TimedCheck> {
    return this.run(() => this.timed(hashKind(null), () => burnPasswordCheck(password).then(() => ({ ok: false, needsRehash: false }))));
  }

  /**
   * Pads a failed check to the average time of the slowest kind of hash checked lately. An imported bcrypt
   * hash takes several times longer than argon2id; without this floor, a wrong password would answer later
   * for an imported account than for an unknown address, and reveal it. An average (with 30% headroom), not a
   * maximum, so that one slow outlier does not make every failed login wait. Waiting costs no CPU and holds no hashing slot.
   */
  async padFailure(check: TimedCheck): Promise<void> {
    const now = Date.now();
    let floor = 0;
    for (const [kind, time] of this.checkTimes) {
      if (now - time.seenAt > FLOOR_WINDOW_MS) this.checkTimes.delete(kind);
      else floor = Math.max(floor, time.averageMs);
    }
    // Headroom above the average, so that a real check a little slower than usual still lands under the
    // floor and answers at the same time as the padded ones.
    floor *= FLOOR_HEADROOM;
    const wait = floor - check.workMs;
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  private async timed(kind: string, work: () => Promise<PasswordCheck>): Promise<TimedCheck> {
    const started = performance.now();
    const check = await work();
    const workMs = performance.now() - started;
    const previous = this.checkTimes.get(kind);
    this.checkTimes.set(kind, { averageMs: previous ? previous.averageMs * 0.8 + workMs * 0.2 : workMs, seenAt: Date.now() });
    return { ...check, workMs };
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) {
      this.running += 1;
    } else {
      if (this.waiting.length >= this.queueMax) {
        this.onRefused();
        throw new AppError('service_unavailable', { message: 'Too many password checks at once; try again in a moment', retryAfter: 1 });
      }
      // The finishing task hands its slot over, so `running` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
