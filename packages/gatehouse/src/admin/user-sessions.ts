// An admin looking after someone's sessions: list them, end one, or sign the user out everywhere.
import { recordEvent } from '../audit/service.ts';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { endSession, endUserSessions } from '../sessions/service.ts';
import type { Session } from '../sessions/store.ts';
import type { User } from '../users/store.ts';
import type { Actor } from './service.ts';

export function listUserSessions(ctx: Context, user: User): Promise<Session[]> {
  return ctx.sessions.listLive(user.id, ctx.now());
}

/** Ends one live session of the user; a session of someone else, ended or unknown, is not_found alike. */
export async function endUserSession(ctx: Context, user: User, sessionId: string, actor: Actor): Promise<void> {
  const session = await ctx.sessions.find(sessionId);
  if (!session || session.userId !== user.id || session.revokedAt !== null || session.expiresAt <= ctx.now()) {
    throw new AppError('not_found', { message: 'Session not found' });
  }
  await endSession(ctx, session.id, 'admin');
  await recordEvent(ctx, 'session_revoked', { userId: user.id, sessionId: session.id, client: actor.client, detail: { by: actor.userId } });
}

/** Ends every session of the user, on this server and at verifiers; how many there were. */
export async function signOutUser(ctx: Context, user: User, actor: Actor): Promise<number> {
  const ended = await endUserSessions(ctx, user.id, 'admin_sign_out');
  await recordEvent(ctx, 'user_signed_out', { userId: user.id, client: actor.client, detail: { by: actor.userId, sessions: ended } });
  return ended;
}
