// Back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.5-2.8): when Gatehouse sessions end (logout,
// logout-all, revocation, refresh-token reuse, password reset, disabling…), every client that registered a
// backchannel_logout_uri and signed the user in through one of those sessions gets a logout token POSTed.
//
// Which clients a Gatehouse session signed in to: when an authorization succeeds, provider.ts writes the id of
// the Gatehouse session behind the request (the one the login prompt's check resolved, policy.ts) into the
// provider session's entry for the client (`authorizations[clientId].gatehouseSessionId`, beside its sid). So
// the entries carrying an ended session's id are exactly its clients, whatever other sessions the same user
// has, even ones started within the same second. Each such entry gets one logout token with its sid and is
// removed; a provider session left with no entry is deleted (its browser signs in to the provider again from
// its Gatehouse session next time). Entries written before the id was recorded are matched as they used to be,
// by user and sign-in second (loginTs). Tokens are queued in backchannel_logouts, delivered by a worker with
// retries (10 s doubling, at most 1 h, 8 attempts), so a client that is down when the user signs out still
// hears of it.
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import type { Context } from '../context.ts';
import type { KeyStore } from '../crypto/keys.ts';
import type { SqlBackchannelStore, QueuedLogout } from '../db/backchannel-store.ts';
import { providerKeys } from './keys.ts';
import { GATEHOUSE_SESSION, type GatehouseAuthorization } from './provider.ts';
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
  exp?: number;
  accountId?: string;
  loginTs?: number;
  authorizations?: Record<string, GatehouseAuthorization>;
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
      for (const ps of provided) {
        const entries = Object.entries(ps.authorizations ?? {});
        // This session's clients; an entry without the id (written before it was recorded) by the sign-in second.
        const ended = entries.filter(([, a]) => (a[GATEHOUSE_SESSION] === undefined ? ps.loginTs === loginTs : a[GATEHOUSE_SESSION] === id));
        if (ended.length === 0) continue;
        for (const [clientId, authorization] of ended) {
          const client = await deps.clients.find(clientId);
          const uri = client?.metadata.backchannel_logout_uri;
          if (!uri) continue;
          const token = await this.logoutToken(clientId, session.userId, authorization.sid);
          await deps.queue.enqueue({ clientId, uri, token }, ctx.now());
          queued += 1;
        }
        if (!ps.jti) continue;
        const kept = entries.filter((entry) => !ended.includes(entry));
        // Signed in to nothing any more: the provider session goes; otherwise it keeps the other sessions' clients.
        if (kept.length === 0) {
          await deps.payloads.destroy('Session', ps.jti);
        } else {
          await deps.payloads.upsert('Session', ps.jti, { ...ps, authorizations: Object.fromEntries(kept) }, typeof ps.exp === 'number' ? ps.exp * 1000 : null);
        }
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
