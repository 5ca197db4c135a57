// The revocation set: session ids whose access tokens must be refused before they expire. An entry lives
// as long as the longest access token of that session can.
import type { Context } from '../context.ts';
import { notifySessionsEnded } from './ended.ts';

const key = (sessionId: string) => `rev:${sessionId}`;

export async function markSessionsRevoked(ctx: Context, sessionIds: readonly string[]): Promise<void> {
  await recordRevocations(ctx, sessionIds);
  // After the set is written, so a verifier that re-reads the set on a message finds the entry.
  const until = ctx.now() + ctx.config.accessTokenTtlMs + 60_000;
  await ctx.revocationFeed?.publish(sessionIds.map((sid) => ({ sid, until })));
  await notifySessionsEnded(ctx, sessionIds);
}

async function recordRevocations(ctx: Context, sessionIds: readonly string[]): Promise<void> {
  await Promise.all(sessionIds.map((id) => ctx.state.put(key(id), '1', ctx.config.accessTokenTtlMs + 60_000)));
}

export async function isSessionRevoked(ctx: Context, sessionId: string): Promise<boolean> {
  return (await ctx.state.get(key(sessionId))) !== null;
}

/** At start, puts back revocations the state may have lost (a restarted process, a flushed Redis). */
export async function restoreRevocations(ctx: Context): Promise<number> {
  const ids = await ctx.sessions.listRevokedSince(ctx.now() - ctx.config.accessTokenTtlMs - 60_000);
  await recordRevocations(ctx, ids);
  return ids.length;
}
