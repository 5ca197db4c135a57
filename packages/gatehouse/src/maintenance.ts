// Periodic jobs that keep the tables bounded: expired and revoked sessions, spent refresh and one-time
// tokens, expired shared state, delivered mail and back-channel logout tokens, old audit events. One instance
// at a time on PostgreSQL.
import { PENDING_FACTOR_TTL_MS } from './factors/service.ts';
import type { Runtime } from './bootstrap.ts';
import type { Config } from './config.ts';
import type { Context, Logger } from './context.ts';
import { SqlMaintenanceStore } from './db/maintenance-store.ts';
import { SqlOidcPayloadStore } from './db/oidc-store.ts';
import type { Db, Dialect } from './db/schema.ts';
import { finishDueMfaResets } from './factors/reset.ts';

const DAY = 86_400_000;

/**
 * Sessions stay this long after they expire or are revoked: the account page and the admin API list recent
 * sessions, and `restoreRevocations` (src/sessions/revocation.ts) reloads revocations younger than an access
 * token's lifetime (plus a minute), so this must be longer than ACCESS_TOKEN_TTL: see sessionRetentionMs.
 */
export const SESSION_RETENTION_MS = 7 * DAY;

/**
 * Used refresh tokens kept per live session, newest first. Why not all of them, nor none:
 * - A used token's row is what turns a replay into reuse detection (RFC 9700 §4.14.2): without it the replay
 *   is only an unknown token, refused as invalid but without revoking the session. So used tokens of a live
 *   session are not deleted as soon as they are used.
 * - Detection only matters while the session is live and the token unexpired: rotation refuses a token whose
 *   session is revoked or expired, or whose own expiry has passed, before it looks for reuse. Those rows go at once.
 * - Keeping every used token until its own expiry (REFRESH_TOKEN_TTL, 7 days) grows a busy session's chain
 *   without bound: a client refreshing every few minutes leaves thousands. The replays worth detecting are of
 *   recent tokens: a thief who rotates a stolen token first makes the owner's next refresh (the token just
 *   before) a replay, and a thief replaying a token the owner already rotated replays one from the last few
 *   rotations. A token more than this many rotations old is refused as invalid, which still keeps its holder
 *   out; only the session is not revoked for it.
 * - The reuse grace needs the presented token's row and its successor for REFRESH_REUSE_GRACE: nothing used
 *   within the grace plus USED_TOKEN_MARGIN_MS is deleted, whatever its rank.
 */
export const USED_REFRESH_TOKENS_KEPT = 10;
const USED_TOKEN_MARGIN_MS = 5 * 60_000;
/** Spent (used or expired) one-time tokens: never redeemable again; kept a day for the record. */
export const ONE_TIME_TOKEN_RETENTION_MS = DAY;
/** Delivered mail (the body is already gone, only the row for the metrics), and mail given up. */
export const SENT_MAIL_RETENTION_MS = DAY;
export const DEAD_MAIL_RETENTION_MS = 7 * DAY;
/**
 * Back-channel logout tokens, as the mail queue: a delivered row (its token already blanked) is kept a day for
 * the record, one given up (dead, after 8 attempts over about 10 hours) a week, so an operator can see which
 * client never heard of a logout. Pending rows are never deleted here: the worker finishes them.
 */
export const SENT_BACKCHANNEL_RETENTION_MS = DAY;
export const DEAD_BACKCHANNEL_RETENTION_MS = 7 * DAY;
/** Rows deleted per statement. */
export const MAINTENANCE_BATCH = 500;
/** How often the server runs the jobs (and once at start). */
export const MAINTENANCE_INTERVAL_MS = 3_600_000;

export function sessionRetentionMs(config: Config): number {
  return Math.max(SESSION_RETENTION_MS, config.accessTokenTtlMs + 60_000 + DAY);
}

export interface MaintenanceResult {
  status: 'done' | 'skipped';
  deleted: Record<string, number>;
}

export interface MaintenanceOptions {
  db: Db;
  dialect: Dialect;
  config: Config;
  /** The time the jobs judge by; tests pass a fake clock's. */
  now: number;
  batchSize?: number;
  /** For the jobs that act through the domain (finishing due second-factor resets, which mail the owner). */
  ctx?: Context;
}

/** Repeats one batch delete until a batch comes back short. */
async function drain(deleteBatch: (limit: number) => Promise<number>, limit: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deleteBatch(limit);
    total += n;
    if (n < limit) return total;
  }
}

/** Runs every job once; 'skipped' when another instance on the same PostgreSQL is running them. */
export async function runMaintenance(options: MaintenanceOptions): Promise<MaintenanceResult> {
  const { config, now } = options;
  const limit = options.batchSize ?? MAINTENANCE_BATCH;
  const result = await new SqlMaintenanceStore(options.db, options.dialect).withLock(async (store) => {
    const deleted: Record<string, number> = {};
    deleted.refresh_tokens =
      (await drain((n) => store.deleteRefreshTokensOfEndedSessions(now, n), limit)) +
      (await drain((n) => store.deleteExpiredRefreshTokens(now, n), limit)) +
      (await drain((n) => store.deleteOldUsedRefreshTokens(USED_REFRESH_TOKENS_KEPT, now - config.refreshReuseGraceMs - USED_TOKEN_MARGIN_MS, n), limit));
    deleted.sessions = await drain((n) => store.deleteEndedSessions(now - sessionRetentionMs(config), n), limit);
    deleted.one_time_tokens = await drain((n) => store.deleteSpentOneTimeTokens(now - ONE_TIME_TOKEN_RETENTION_MS, n), limit);
    deleted.shared_state = await drain((n) => store.deleteExpiredSharedState(now, n), limit);
    deleted.oidc_payloads = await drain((n) => new SqlOidcPayloadStore(options.db).deleteExpiredBatch(now, n), limit);
    deleted.mail_queue = await drain((n) => store.deleteFinishedMail(now - SENT_MAIL_RETENTION_MS, now - DEAD_MAIL_RETENTION_MS, n), limit);
    deleted.backchannel_logouts = await drain((n) => store.deleteFinishedBackchannelLogouts(now - SENT_BACKCHANNEL_RETENTION_MS, now - DEAD_BACKCHANNEL_RETENTION_MS, n), limit);
    deleted.audit_events = await drain((n) => store.deleteAuditEventsBefore(now - config.auditRetentionMs, n), limit);
    // Second-factor enrolments never confirmed: they count for nothing, and their sealed secrets should not linger.
    if (options.ctx) deleted.mfa_factors = await options.ctx.factors.deletePendingBefore(now - PENDING_FACTOR_TTL_MS);
    // Claimed row by row, so it would be safe on two instances at once; under the lock all the same.
    if (options.ctx) deleted.mfa_resets = await finishDueMfaResets(options.ctx);
    return deleted;
  });
  return result === 'skipped' ? { status: 'skipped', deleted: {} } : { status: 'done', deleted: result };
}

/** Runs the jobs through a runtime, logging what went; never two at once in one process. */
export function maintenanceRunner(runtime: Runtime, log: Logger = runtime.ctx.log): () => Promise<MaintenanceResult | null> {
  let running: Promise<MaintenanceResult | null> | null = null;
  return () => {
    running ??= runMaintenance({ db: runtime.database.db, dialect: runtime.database.dialect, config: runtime.ctx.config, now: runtime.ctx.now(), ctx: runtime.ctx })
      .then(
        (result) => {
          const total = Object.values(result.deleted).reduce((a, b) => a + b, 0);
          if (result.status === 'skipped') log.info({}, 'maintenance skipped: another instance is running it');
          else if (total) log.info({ deleted: result.deleted }, 'maintenance deleted expired rows');
          return result;
        },
        (err: unknown) => {
          log.error({ err }, 'maintenance failed');
          return null;
        },
      )
      .finally(() => {
        running = null;
      });
    return running;
  };
}

/** Runs the jobs now and every `intervalMs` on an unref'd timer; stop() waits for a run in progress. */
export function scheduleMaintenance(runtime: Runtime, intervalMs = MAINTENANCE_INTERVAL_MS): { stop(): Promise<void> } {
  const run = maintenanceRunner(runtime);
  let current = run();
  const timer = setInterval(() => {
    current = run();
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}
