// The one place that decides whether a user may sign in, and whether a credential of theirs may act.
// Login, register, refresh, the auth guard, the pages, API keys, recovery and social sign-in all ask here.
import type { Config } from '../config.ts';
import type { User } from '../users/store.ts';

export type SignInRefusal = 'account_disabled' | 'email_not_verified';

/** Why this user may not sign in (or hold a live credential) right now; null when they may. */
export function signInRefusal(config: Config, user: User): SignInRefusal | null {
  if (user.disabledAt !== null) return 'account_disabled';
  if (config.requireEmailVerification && user.emailVerifiedAt === null) return 'email_not_verified';
  return null;
}

/**
 * May a token, session cookie or API key of this user be honoured? The same rule as signing in: under
 * REQUIRE_EMAIL_VERIFICATION no credential of an unverified account works, whatever issued it.
 */
export function mayAct(config: Config, user: User | null): user is User {
  return user !== null && signInRefusal(config, user) === null;
}

/**
 * MFA_REQUIRED_ROLES: a user of such a role who has no second factor may sign in, but only to enrol one.
 * `hasFactor` is asked only when it matters (the role is listed and the session did not pass a second factor).
 */
export async function mustEnrolFirst(config: Config, caller: { role: string; amr: string[] }, hasFactor: () => Promise<boolean>): Promise<boolean> {
  if (!config.mfaRequiredRoles.includes(caller.role) || caller.amr.includes('mfa')) return false;
  return !(await hasFactor());
}

/**
 * May the owner recover the account by e-mail? A disabled account may not; an unverified one may, because
 * the link itself proves the mailbox.
 */
export function mayRecover(user: User | null): user is User {
  return user !== null && user.disabledAt === null;
}
