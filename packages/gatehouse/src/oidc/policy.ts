// The provider's interaction policy: oidc-provider's own (login, consent) plus two checks that tie its session
// to the Gatehouse session, so that a user signed out of Gatehouse is signed out of every authorization too,
// and that acr_values asking for a second factor is honoured.
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { Context } from '../context.ts';
import { sessionCookieName } from '../http/cookies.ts';
import { resolveSessionCookieWithUser } from '../sessions/service.ts';
import type { Session } from '../sessions/store.ts';
import { mayAct } from '../sign-in/access-policy.ts';
import { asksForMfa } from './acr.ts';
import { AMR } from '../sign-in/amr.ts';

const { Check, base } = interactionPolicy;

/**
 * The Gatehouse session an authorization request runs under, as the login prompt's check found it behind the
 * cookie (that check runs on every authorization that reaches a signed-in provider session). provider.ts
 * writes its id into the provider session's entry for the client when the authorization succeeds, so
 * back-channel logout knows exactly which Gatehouse session signed the user in to which client.
 */
export const gatehouseSessionOfRequest = new WeakMap<object, Session>();

/** The live Gatehouse session behind the request's cookie, or null. */
export async function gatehouseSession(ctx: Context, cookie: string | undefined): Promise<Session | null> {
  if (!cookie) return null;
  try {
    const { session, user } = await resolveSessionCookieWithUser(ctx, cookie);
    return mayAct(ctx.config, user) ? session : null;
  } catch {
    return null;
  }
}

export function gatehousePolicy(ctx: Context) {
  const policy = base();
  const login = policy.get('login')!;
  login.checks.add(
    new Check('gatehouse_session', 'The Gatehouse session ended or changed', 'login_required', async (koa: KoaContextWithOIDC) => {
      const { session } = koa.oidc;
      if (!session?.accountId) return Check.NO_NEED_TO_PROMPT;
      const current = await gatehouseSession(ctx, koa.cookies.get(sessionCookieName(ctx.config)));
      if (current) gatehouseSessionOfRequest.set(koa, current);
      // The provider's login must be this Gatehouse session's: same user, same sign-in (a step-up renews it).
      if (!current || current.userId !== session.accountId || Math.floor(current.authTime / 1000) !== session.loginTs) return Check.REQUEST_PROMPT;
      return Check.NO_NEED_TO_PROMPT;
    }),
  );
  login.checks.add(
    new Check('mfa_required', 'acr_values asked for a second factor', 'login_required', async (koa: KoaContextWithOIDC) => {
      if (!asksForMfa(koa.oidc.params?.acr_values)) return Check.NO_NEED_TO_PROMPT;
      const amr = (koa.oidc.session?.amr as string[] | undefined) ?? [];
      return koa.oidc.session?.accountId && amr.includes(AMR.multiFactor) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}
