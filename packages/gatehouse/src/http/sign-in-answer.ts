// The answer to a sign-in, written in one place for the API and the pages: tokens in the body, the refresh
// token in a cookie, or only a session cookie, by mode; nothing at all when no session was started. A finished
// sign-in in the cookie and session modes also gets a fresh device cookie (src/sessions/device-cookie.ts); token
// mode sets no cookie at all.
import type { FastifyReply } from 'fastify';
import type { Context } from '../context.ts';
import type { LoginMode } from '../sessions/store.ts';
import type { SecondFactorMethod } from '../factors/service.ts';
import type { SignInResult } from '../sign-in/complete-sign-in.ts';
import { issueDeviceCookie } from '../sessions/device-cookie.ts';
import type { Registration } from '../users/service.ts';
import { toPublicUser, type PublicUser } from '../users/store.ts';
import { setDeviceCookie, setRefreshCookie, setSessionCookie } from './cookies.ts';

export interface SignedInBody {
  user: PublicUser;
  accessToken?: string;
  refreshToken?: string;
  tokenType?: 'Bearer';
  expiresIn?: number;
}

/** The second step is needed: no user, no token, no cookie; only the ticket for POST /auth/mfa/verify. */
export interface MfaChallengeBody {
  mfaRequired: true;
  mfaTicket: string;
  methods: SecondFactorMethod[];
  expiresIn: number;
}

export type SignInBody = SignedInBody | MfaChallengeBody;

/** Sets the mode's cookies on `reply` and returns the body; a registration without a session gets `{ user }`. */
export function answerSignIn(ctx: Context, reply: FastifyReply, result: SignInResult | Registration, mode: LoginMode): SignInBody {
  if (result.kind === 'mfa_required') return { mfaRequired: true, mfaTicket: result.mfaTicket, methods: result.methods, expiresIn: result.expiresIn };
  const user = toPublicUser(result.user);
  if (result.kind === 'created') return { user };
  const { issued } = result;
  if (mode !== 'token') setDeviceCookie(reply, ctx.config, issueDeviceCookie(ctx.config.secret, result.user.email));
  if (mode === 'session') {
    setSessionCookie(reply, ctx.config, issued.sessionToken!);
    return { user };
  }
  const tokens = { accessToken: issued.accessToken!, tokenType: 'Bearer' as const, expiresIn: issued.expiresIn! };
  if (mode === 'cookie') {
    setRefreshCookie(reply, ctx.config, issued.refreshToken!);
    return { user, ...tokens };
  }
  return { user, ...tokens, refreshToken: issued.refreshToken! };
}
