// findAccount: the user behind a `sub`, and the claims each scope releases (provider.ts maps scopes to claims).
import type { Account, KoaContextWithOIDC } from 'oidc-provider';
import type { Context } from '../context.ts';
import { mayAct } from '../sign-in/access-policy.ts';

export function accountFinder(ctx: Context) {
  return async function findAccount(_koa: KoaContextWithOIDC, sub: string): Promise<Account | undefined> {
    const user = await ctx.users.findById(sub);
    // A disabled (or, under REQUIRE_EMAIL_VERIFICATION, unverified) account has no claims for anyone.
    if (!mayAct(ctx.config, user)) return undefined;
    return {
      accountId: user.id,
      async claims() {
        return { sub: user.id, email: user.email, email_verified: user.emailVerifiedAt !== null, name: user.name };
      },
    };
  };
}
