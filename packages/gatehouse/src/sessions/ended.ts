// Listeners for "these Gatehouse sessions ended", whatever ended them (logout, revocation, reuse detection,
// password reset, disabling…): markSessionsRevoked calls them. The OpenID provider's back-channel logout is
// one. A listener's failure is logged and never fails the sign-out itself.
import type { Context } from '../context.ts';

type Listener = (sessionIds: readonly string[]) => Promise<unknown>;

const listeners = new WeakMap<Context, Listener[]>();

export function onSessionsEnded(ctx: Context, listener: Listener): void {
  listeners.set(ctx, [...(listeners.get(ctx) ?? []), listener]);
}

export async function notifySessionsEnded(ctx: Context, sessionIds: readonly string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  for (const listener of listeners.get(ctx) ?? []) {
    try {
      await listener(sessionIds);
    } catch (err) {
      ctx.log.error({ err }, 'a sessions-ended listener failed');
    }
  }
}
