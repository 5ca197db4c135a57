// With REDIS_URL set, the provider's short-lived, single-request artefacts live in the shared state (Redis)
// instead of the database: authorization codes (60 s), interactions (10 min), replay-detection entries and
// pushed authorization requests. They are written and read once or twice each and then expire, which is what
// Redis is for, and they take a write per sign-in off the database. Everything longer-lived stays in SQL:
// sessions (SESSION_TTL, listed by account for back-channel logout, which must survive a Redis that restarts
// empty), grants, access and refresh tokens.
//
// Each artefact is one key, `oidc:<kind>:<id>`, holding its payload, its expiry and when it was consumed, with
// the expiry as the key's TTL. `consume` rewrites the key with the time (as the SQL store's `consumed_at`, it
// is not a lock: oidc-provider reads, then consumes, then issues). `revokeByGrantId` has nothing to do for
// these kinds: a code is only exchanged after oidc-provider finds its grant (validateGrant: "grant not found"),
// and every revocation deletes the grant, so a code left behind a revoked grant is refused all the same
// (tested). A Redis that cannot be reached is 503 temporarily_unavailable, never a guess.
import { errors } from 'oidc-provider';
import type { Context } from '../context.ts';
import { StateUnavailableError, type SharedState } from '../state/state.ts';
import type { OidcPayloadStore } from './store.ts';

/** The kinds kept in the shared state when REDIS_URL is set. */
export const SHARED_STATE_KINDS: ReadonlySet<string> = new Set(['AuthorizationCode', 'Interaction', 'ReplayDetection', 'PushedAuthorizationRequest']);
/** A kind in this set always comes with an expiry; this bounds one that would not. */
const FALLBACK_TTL_MS = 3_600_000;

interface Stored {
  /** The payload as oidc-provider gave it. */
  p: Record<string, unknown>;
  /** Expires at (ms). */
  e: number;
  /** Consumed at (ms), once consumed. */
  c?: number;
}

function unavailable(err: unknown): never {
  if (err instanceof StateUnavailableError) {
    const refused = new errors.TemporarilyUnavailable('the shared state is unreachable; try again shortly');
    Object.assign(refused, { status: 503, statusCode: 503 });
    throw refused;
  }
  throw err;
}

/** The short-lived kinds over SharedState; routes every other kind, and every listing, to the SQL store. */
export class SharedStatePayloadStore implements OidcPayloadStore {
  constructor(
    private readonly sql: OidcPayloadStore,
    private readonly state: SharedState,
    private readonly now: () => number,
  ) {}

  private key(kind: string, id: string): string {
    return `oidc:${kind}:${id}`;
  }

  private async read(kind: string, id: string): Promise<Stored | null> {
    let raw: string | null;
    try {
      raw = await this.state.get(this.key(kind, id));
    } catch (err) {
      unavailable(err);
    }
    return raw === null ? null : (JSON.parse(raw) as Stored);
  }

  private async write(kind: string, id: string, stored: Stored): Promise<void> {
    const ttlMs = stored.e - this.now();
    if (ttlMs <= 0) return this.destroy(kind, id);
    try {
      await this.state.put(this.key(kind, id), JSON.stringify(stored), ttlMs);
    } catch (err) {
      unavailable(err);
    }
  }

  async upsert(kind: string, id: string, payload: Record<string, unknown>, expiresAt: number | null): Promise<void> {
    if (!SHARED_STATE_KINDS.has(kind)) return this.sql.upsert(kind, id, payload, expiresAt);
    await this.write(kind, id, { p: payload, e: expiresAt ?? this.now() + FALLBACK_TTL_MS });
  }

  async find(kind: string, id: string, now: number): Promise<Record<string, unknown> | undefined> {
    if (!SHARED_STATE_KINDS.has(kind)) return this.sql.find(kind, id, now);
    const stored = await this.read(kind, id);
    if (!stored || stored.e <= now) return undefined;
    return stored.c === undefined ? stored.p : { ...stored.p, consumed: Math.floor(stored.c / 1000) };
  }

  async findByUid(kind: string, uid: string, now: number): Promise<Record<string, unknown> | undefined> {
    // oidc-provider looks up by uid only Sessions, which stay in SQL.
    return SHARED_STATE_KINDS.has(kind) ? undefined : this.sql.findByUid(kind, uid, now);
  }

  async findByUserCode(kind: string, userCode: string, now: number): Promise<Record<string, unknown> | undefined> {
    // Only device codes have user codes (the device flow is off).
    return SHARED_STATE_KINDS.has(kind) ? undefined : this.sql.findByUserCode(kind, userCode, now);
  }

  async consume(kind: string, id: string, now: number): Promise<void> {
    if (!SHARED_STATE_KINDS.has(kind)) return this.sql.consume(kind, id, now);
    const stored = await this.read(kind, id);
    if (!stored || stored.c !== undefined) return;
    await this.write(kind, id, { ...stored, c: now });
  }

  async consumedAt(kind: string, id: string): Promise<number | null> {
    if (!SHARED_STATE_KINDS.has(kind)) return this.sql.consumedAt(kind, id);
    return (await this.read(kind, id))?.c ?? null;
  }

  async destroy(kind: string, id: string): Promise<void> {
    if (!SHARED_STATE_KINDS.has(kind)) return this.sql.destroy(kind, id);
    try {
      await this.state.delete(this.key(kind, id));
    } catch (err) {
      unavailable(err);
    }
  }

  async revokeByGrantId(kind: string, grantId: string): Promise<void> {
    // See the top: the grant's deletion already makes these kinds' entries useless.
    if (!SHARED_STATE_KINDS.has(kind)) await this.sql.revokeByGrantId(kind, grantId);
  }

  listGrants(accountId: string, now: number) {
    return this.sql.listGrants(accountId, now);
  }

  deleteExpired(before: number) {
    return this.sql.deleteExpired(before);
  }

  listByAccount(kind: string, accountId: string, now: number) {
    return this.sql.listByAccount(kind, accountId, now);
  }

  deleteGrant(grantId: string) {
    return this.sql.deleteGrant(grantId);
  }
}

/** The provider's payload store: the SQL one, with the short-lived kinds in Redis when REDIS_URL is set. */
export function providerPayloads(ctx: Context, sql: OidcPayloadStore): OidcPayloadStore {
  return ctx.config.redisUrl ? new SharedStatePayloadStore(sql, ctx.state, ctx.now) : sql;
}
