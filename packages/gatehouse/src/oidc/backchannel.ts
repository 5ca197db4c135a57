// Back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.5-2.8): when Gatehouse sessions end (logout,
// logout-all, revocation, refresh-token reuse, password reset, disabling…), every client that registered a
// backchannel_logout_uri and signed the user in through one of those sessions gets a logout token POSTed.
//
// Which provider sessions belong to a Gatehouse session: the interaction policy (policy.ts) keeps the provider's
// session only while its user and login time (loginTs) are the Gatehouse session's, so the same pair finds them
// here. Each is deleted (the provider is signed out too) and one token per client in it is queued: a row in
// backchannel_logouts, delivered by a worker with retries (10 s doubling, at most 1 h, 8 attempts), so a client
// that is down when the user signs out still hears of it.
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import type { Context } from '../context.ts';
import type { KeyStore } from '../crypto/keys.ts';
import type { SqlBackchannelStore, QueuedLogout } from '../db/backchannel-store.ts';
import { providerKeys } from './keys.ts';
import type { OidcClientStore, OidcPayloadStore } from './store.ts';

export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
export const BACKCHANNEL_MAX_ATTEMPTS = 8;
const FIRST_RETRY_MS = 10_000;
const MAX_RETRY_MS = 3_600_000;
const LEASE_MS = 60_000;
const TIMEOUT_MS = 5_000;
const BATCH = 20;
const POLL_MS = 10_000;
/** How long a queued logout token stays valid: as long as its retries can last (the spec suggests minutes, but the queued token is re-sent as it is). */
const TOKEN_TTL_S = 2 * 3600;

export function backchannelRetryDelayMs(attempt: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** (attempt - 1), MAX_RETRY_MS);
}

export interface BackchannelDeps {
  payloads: OidcPayloadStore;
  clients: OidcClientStore;
  keyStore: KeyStore;
  queue: SqlBackchannelStore;
  fetch?: typeof globalThis.fetch;
}

interface ProviderSession {
  jti?: string;
  accountId?: string;
  loginTs?: number;
  authorizations?: Record<string, { sid?: string; grantId?: string }>;
}

/** The running server's back-channel logout, by context (tests deliver with a later clock; the CLI could too). */
export const backchannelLogouts = new WeakMap<Context, BackchannelLogout>();

export class BackchannelLogout {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly ctx: Context,
    private readonly deps: BackchannelDeps,
  ) {}

  /** The Gatehouse sessions `sessionIds` ended: queue a logout token for every client signed in through them. */
  async sessionsEnded(sessionIds: readonly string[]): Promise<number> {
    const { ctx, deps } = this;
    let queued = 0;
    for (const id of sessionIds) {
      const session = await ctx.sessions.find(id);
      if (!session) continue;
      const loginTs = Math.floor(session.authTime / 1000);
      const provided = (await deps.payloads.listByAccount('Session', session.userId, ctx.now())) as ProviderSession[];
      for (const ps of provided.filter((p) => p.loginTs === loginTs)) {
        for (const [clientId, authorization] of Object.entries(ps.authorizations ?? {})) {
          const client = await deps.clients.find(clientId);
          const uri = client?.metadata.backchannel_logout_uri;
          if (!uri) continue;
          const token = await this.logoutToken(clientId, session.userId, authorization.sid);
          await deps.queue.enqueue({ clientId, uri, token }, ctx.now());
          queued += 1;
        }
        if (ps.jti) await deps.payloads.destroy('Session', ps.jti);
      }
    }
    if (queued > 0) this.kick();
    return queued;
  }

  /** §2.4: iss, aud = the client, iat, exp, jti, events, sub and sid; never a nonce; typ logout+jwt. */
  async logoutToken(clientId: string, sub: string, sid: string | undefined): Promise<string> {
    const keys = await providerKeys(this.ctx.keyRing, this.deps.keyStore, this.ctx.config.secret);
    const jwk = keys.keys[0]!;
    const key = await importJWK(jwk, keys.alg);
    const now = Math.floor(this.ctx.now() / 1000);
    return new SignJWT({ events: { [LOGOUT_EVENT]: {} }, ...(sid ? { sid } : {}) })
      .setProtectedHeader({ alg: keys.alg, kid: jwk.kid!, typ: 'logout+jwt' })
      .setIssuer(this.ctx.config.publicUrl)
      .setAudience(clientId)
      .setSubject(sub)
      .setIssuedAt(now)
      .setExpirationTime(now + TOKEN_TTL_S)
      .setJti(randomUUID())
      .sign(key);
  }

  kick(): void {
    if (this.stopped) return;
    this.ctx.background.run('back-channel logout delivery', async () => {
      await this.deliverDue();
    });
  }

  start(pollMs = POLL_MS): void {
    this.timer = setInterval(() => this.kick(), pollMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** POSTs every due logout token; `now` for tests that pass a later time to see a retry. */
  async deliverDue(now = this.ctx.now()): Promise<{ sent: number; failed: number; dead: number }> {
    const report = { sent: 0, failed: 0, dead: 0 };
    for (;;) {
      const batch = await this.deps.queue.claimDue(now, BATCH, now + LEASE_MS);
      for (const item of batch) report[await this.attempt(item, now)] += 1;
      if (batch.length < BATCH) return report;
    }
  }

  private async attempt(item: QueuedLogout, now: number): Promise<'sent' | 'failed' | 'dead'> {
    const { queue } = this.deps;
    let error: string;
    try {
      // §2.5: a form POST of logout_token; 200 (or 204) is success; no redirects are followed.
      const res = await (this.deps.fetch ?? fetch)(item.uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: item.token }),
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status === 200 || res.status === 204) {
        await queue.markSent(item.id, now);
        return 'sent';
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      error = String((err as Error)?.message ?? err).slice(0, 300);
    }
    if (item.attempts >= BACKCHANNEL_MAX_ATTEMPTS) {
      await queue.markDead(item.id, error);
      this.ctx.log.error({ clientId: item.clientId, attempts: item.attempts, error }, 'back-channel logout given up');
      return 'dead';
    }
    await queue.markFailed(item.id, now + backchannelRetryDelayMs(item.attempts), error);
    this.ctx.log.warn({ clientId: item.clientId, attempt: item.attempts, error }, 'back-channel logout failed; it will be retried');
    return 'failed';
  }
}
