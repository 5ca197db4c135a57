// "An account keeps at least one way to sign in": a rule of the domain, not of SQL. Each way in counts itself
// here (a password, each linked provider, each passkey that signs in alone), and removing one is refused when
// it would leave none.
import type { Context, Stores } from '../context.ts';
import { AppError } from '../errors.ts';
import type { User } from '../users/store.ts';

/** How many independent ways the user has to sign in. */
export async function countWaysIn(tx: Stores, user: User): Promise<number> {
  const identities = await tx.identities.listByUser(user.id);
  const providers = new Set(identities.map((i) => i.provider));
  // A passkey registered with user verification signs in alone; one without is a second factor only.
  const passkeys = (await tx.factors.listByUser(user.id)).filter((f) => f.type === 'webauthn' && f.confirmedAt !== null && f.webauthn?.userVerified).length;
  return (user.passwordHash !== null ? 1 : 0) + providers.size + passkeys;
}

/**
 * Runs `remove` (which deletes one way in, or throws not_found) in a transaction that holds the user's row, and
 * rolls it back with 409 when nothing would be left: two removals at once cannot both pass the check.
 */
export async function removeWayIn(ctx: Context, userId: string, remove: (tx: Stores) => Promise<void>): Promise<void> {
  await ctx.transaction(async (tx) => {
    const user = await tx.users.lock(userId);
    if (!user) throw new AppError('not_found');
    await remove(tx);
    if ((await countWaysIn(tx, user)) === 0) {
      throw new AppError('conflict', {
        message: 'This is the only way to sign in to this account: set a password (forgot-password sends a link) or link another provider first',
      });
    }
  });
}
