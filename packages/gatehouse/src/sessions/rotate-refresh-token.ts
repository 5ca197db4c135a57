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

export async function rotateRefreshToken(ctx: Context, presented: string, client: ClientInfo | null = null): Promise<Rotation> {
  if (!presented.startsWith(REFRESH_PREFIX) || presented.length > 100) throw new AppError('invalid_refresh_token');
  const now = ctx.now();
  const hash = sha256(presented);
  const successor = successorOf(ctx, presented);

  const outcome = await ctx.transaction<Outcome>(async ({ sessions: store }) => {
    // One read for the token, its session and the user the new access token is for.
    const found = await store.findRefreshTokenWithSession(hash);
    if (!found) return { kind: 'invalid' };
    const { token, session, user } = found;
    if (session.revokedAt !== null || session.expiresAt <= now || token.expiresAt <= now) return { kind: 'invalid' };

    if (token.usedAt === null && (await store.claimRefreshToken(hash, now))) {
      const expiresAt = now + ctx.config.refreshTokenTtlMs;
      await store.insertRefreshToken({ hash: sha256(successor), sessionId: session.id, parentHash: hash, createdAt: now, usedAt: null, expiresAt });
      await store.touch(session.id, now, expiresAt);
      return { kind: 'rotated', session: { ...session, lastUsedAt: now, expiresAt }, user, successor };
    }

    // Already rotated: by a concurrent caller a moment ago (grace), or replayed (reuse).
    const current = await store.findRefreshToken(hash);
    const usedAt = current?.usedAt ?? now;
    if (now - usedAt <= ctx.config.refreshReuseGraceMs) {
      const next = await store.findRefreshToken(sha256(successor));
      if (next && next.usedAt === null) return { kind: 'grace', session, user, successor };
    }
    return { kind: 'reused', sessionId: session.id };
  });

  if (outcome.kind === 'invalid') throw new AppError('invalid_refresh_token');
  if (outcome.kind === 'reused') {
    // Revoked outside the transaction above, which must not roll this back when it throws.
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
