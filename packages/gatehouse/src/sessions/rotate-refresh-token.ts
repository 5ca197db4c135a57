// Refresh-token rotation with reuse detection (RFC 9700 §4.14.2).
import { recordEvent } from '../audit/service.ts';
import type { ClientInfo, Context } from '../context.ts';
import { deriveKey, hmac, sha256 } from '../crypto/random.ts';
import { AppError } from '../errors.ts';
import { mayAct } from '../sign-in/access-policy.ts';
import type { User } from '../users/store.ts';
import { markSessionsRevoked } from './revocation.ts';
import { REFRESH_PREFIX } from './service.ts';
import type { Session } from './store.ts';

export interface Rotation {
  user: User;
  session: Session;
  refreshToken: string;
  accessToken: string;
  expiresIn: number;
}

type Outcome =
  | { kind: 'rotated' | 'grace'; session: Session; user: User | null; successor: string }
  | { kind: 'invalid' }
  | { kind: 'reused'; sessionId: string };

const successorKeys = new WeakMap<Context, Buffer>();

/**
 * The successor is derived from the presented token under a server key, so every concurrent caller computes
 * the same one: the insert is idempotent and no plaintext token is kept for the reuse grace.
 */
function successorOf(ctx: Context, presented: string): string {
  let key = successorKeys.get(ctx);
  if (!key) {
    key = deriveKey(ctx.config.secret, 'refresh-successor');
    successorKeys.set(ctx, key);
  }
  return REFRESH_PREFIX + hmac(key, presented);
}

/**
 * The rotation itself, then, when this caller did not rotate, why: a concurrent caller rotated the same token a
 * moment ago (the grace: the same successor again, still unused) or the token was replayed (reuse).
 */
async function rotateOrExplain(ctx: Context, hash: string, successor: string, now: number): Promise<Outcome> {
  const expiresAt = now + ctx.config.refreshTokenTtlMs;
  const successorHash = sha256(successor);
  // One atomic step reads the token, its session and its user, and claims the token, stores its successor and
  // extends the session when the token may be rotated (SessionStore.rotate).
  const found = await ctx.sessions.rotate(hash, { hash: successorHash, expiresAt }, now);
  if (!found) return { kind: 'invalid' };
  const { token, session, user } = found;
  if (session.revokedAt !== null || session.expiresAt <= now || token.expiresAt <= now) return { kind: 'invalid' };
  if (found.rotated) return { kind: 'rotated', session: { ...session, lastUsedAt: now, expiresAt }, user, successor };

  // Already rotated: by a concurrent caller a moment ago (grace), or replayed (reuse). Read after the claim
  // failed, so a concurrent rotation that won is seen with its successor.
  const current = await ctx.sessions.findRefreshToken(hash);
  const usedAt = current?.usedAt ?? now;
  if (now - usedAt <= ctx.config.refreshReuseGraceMs) {
    const next = await ctx.sessions.findRefreshToken(successorHash);
    if (next && next.usedAt === null) return { kind: 'grace', session, user, successor };
  }
  return { kind: 'reused', sessionId: session.id };
}

export async function rotateRefreshToken(ctx: Context, presented: string, client: ClientInfo | null = null): Promise<Rotation> {
  if (!presented.startsWith(REFRESH_PREFIX) || presented.length > 100) throw new AppError('invalid_refresh_token');
  const now = ctx.now();
  const hash = sha256(presented);
  const successor = successorOf(ctx, presented);

  const outcome = await rotateOrExplain(ctx, hash, successor, now);
  if (outcome.kind === 'invalid') throw new AppError('invalid_refresh_token');
  if (outcome.kind === 'reused') {
    // Revoked in writes of its own, after the rotation step: nothing that fails later may roll this back.
    await ctx.sessions.revoke(outcome.sessionId, 'refresh_token_reused', now);
    await markSessionsRevoked(ctx, [outcome.sessionId]);
    const session = await ctx.sessions.find(outcome.sessionId);
    await recordEvent(ctx, 'refresh_reuse_detected', { userId: session?.userId, sessionId: outcome.sessionId, client });
    throw new AppError('refresh_token_reused');
  }
  if (outcome.kind === 'rotated') ctx.metrics.event('refresh_rotated');

  const { user } = outcome;
  if (!mayAct(ctx.config, user)) throw new AppError('invalid_refresh_token');
  const access = await ctx.tokens.sign({ sub: user.id, sid: outcome.session.id, role: user.role, amr: outcome.session.amr }, now);
  return { user, session: outcome.session, refreshToken: outcome.successor, accessToken: access.token, expiresIn: access.expiresIn };
}
