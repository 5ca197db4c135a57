// Sign-in with an OAuth 2.0 / OpenID Connect provider, done the way RFC 9700 asks: a single-use `state`
// bound to the browser, PKCE S256, a nonce and issuer checks for OpenID Connect, exact redirect matching,
// and a one-time code (not tokens) in the final redirect. Then the account rules: find by (provider,
// subject); link by e-mail only when both sides have verified it; otherwise a new account, never a merge.
import { auditEvent, recordEvent } from '../../audit/service.ts';
import * as client from 'openid-client';
import type { ClientInfo, Context, Stores } from '../../context.ts';
import { randomToken, safeEqual, sha256, uuidv7 } from '../../crypto/random.ts';
import { AppError, validationError } from '../../errors.ts';
import { sendVerificationEmail } from '../../recovery/service.ts';
import type { Locale } from '../../i18n/index.ts';
import { initialLocale } from '../../i18n/mail-locale.ts';
import type { LoginMode } from '../../sessions/store.ts';
import { signInRefusal } from '../../sign-in/access-policy.ts';
import { AMR } from '../../sign-in/amr.ts';
import { completeSignIn, type SignInResult } from '../../sign-in/complete-sign-in.ts';
import { removeWayIn } from '../../sign-in/ways-in.ts';
import { checkEmail, checkName, normalizeEmail, normalizeName } from '../../users/policy.ts';
import type { User } from '../../users/store.ts';
import { ProviderClients, ProviderUnavailableError, type OAuthProviderConfig } from './providers.ts';
import type { Identity } from './store.ts';

/** How long a started sign-in may take at the provider. */
export const STATE_TTL_MS = 10 * 60_000;
/** How long the one-time code in the final redirect lives. */
export const EXCHANGE_CODE_TTL_MS = 60_000;
export const EXCHANGE_CODE_PREFIX = 'gho_';

const STATE_KEY = 'oauth:state:';
const CODE_KEY = 'oauth:code:';

/** What is kept server-side, under the hash of `state`, between the redirect out and the callback. */
interface PendingSignIn {
  provider: string;
  verifier: string;
  nonce: string | null;
  redirectTo: string;
  /** SHA-256 of the browser-binding cookie: the callback must come back to the browser that started. */
  binding: string;
}

interface ExchangeGrant {
  userId: string;
  provider: string;
}

/** What a provider says about who signed in. */
export interface ProviderProfile {
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
}

const clientsByContext = new WeakMap<Context, ProviderClients>();

function clients(ctx: Context): ProviderClients {
  let found = clientsByContext.get(ctx);
  if (!found) {
    found = new ProviderClients(ctx.now);
    clientsByContext.set(ctx, found);
  }
  return found;
}

export function findProvider(ctx: Context, name: string): OAuthProviderConfig {
  const provider = ctx.config.oauthProviders.find((p) => p.name === name);
  if (!provider) throw new AppError('not_found', { message: `No sign-in provider named "${name.slice(0, 40)}"` });
  return provider;
}

export function callbackUrl(ctx: Context, provider: OAuthProviderConfig): string {
  return `${ctx.config.publicUrl}/auth/oauth/${provider.name}/callback`;
}

/** A browser-binding value is ours only if it has our shape; anything else is replaced. */
export function isBinding(value: string | undefined): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value);
}

function unavailable(provider: OAuthProviderConfig): AppError {
  return new AppError('service_unavailable', { message: `${provider.label} could not be reached; try again in a moment`, retryAfter: 5 });
}

/** A loggable summary of a provider failure: names and codes, never a token, a body or the client secret. */
function failureSummary(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { error: String(err).slice(0, 200) };
  const summary: Record<string, unknown> = { name: err.name, message: err.message.slice(0, 200) };
  const e = err as { code?: unknown; error?: unknown; status?: unknown; cause?: unknown };
  if (typeof e.code === 'string') summary.errorCode = e.code;
  if (typeof e.error === 'string') summary.providerError = e.error.slice(0, 64);
  if (typeof e.status === 'number') summary.status = e.status;
  const cause = e.cause as { code?: unknown; message?: unknown } | undefined;
  if (cause && typeof cause.code === 'string') summary.causeCode = cause.code;
  if (cause instanceof Error) summary.causeMessage = cause.message.slice(0, 200);
  return summary;
}

/** Network failures, timeouts and 5xx answers mean the provider is down; anything else is a refusal. */
function isUnavailable(err: unknown): boolean {
  if (err instanceof ProviderUnavailableError) return true;
  if (err instanceof TypeError && /fetch failed/i.test(err.message)) return true;
  const e = err as { code?: unknown; status?: unknown; cause?: unknown };
  if (e.code === 'OAUTH_TIMEOUT' || e.code === 'OAUTH_ABORT') return true;
  if (err instanceof client.ResponseBodyError && err.status >= 500) return true;
  if (e.cause instanceof Response && e.cause.status >= 500) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------------------
// 1. The redirect to the provider

export interface StartedSignIn {
  location: string;
  /** The browser-binding cookie value to (re)set. */
  binding: string;
}

export async function startSignIn(
  ctx: Context,
  providerName: string,
  redirectTo: string | undefined,
  existingBinding: string | undefined,
): Promise<StartedSignIn> {
  const provider = findProvider(ctx, providerName);
  const target = redirectTo ?? ctx.config.oauthRedirectAllowlist[0]!;
  if (redirectTo !== undefined && !ctx.config.oauthRedirectAllowlist.includes(redirectTo)) {
    throw validationError([{ field: 'redirect_to', message: 'Must be one of the URLs in OAUTH_REDIRECT_ALLOWLIST' }]);
  }
  let config: client.Configuration;
  try {
    config = await clients(ctx).get(provider);
  } catch (err) {
    ctx.log.warn({ provider: provider.name, failure: failureSummary(err) }, 'oauth provider unavailable');
    throw unavailable(provider);
  }

  // One binding per browser, reused, so that sign-ins started in two tabs both work.
  const binding = isBinding(existingBinding) ? existingBinding : randomToken();
  const state = client.randomState();
  const verifier = client.randomPKCECodeVerifier();
  const nonce = provider.kind === 'oidc' ? client.randomNonce() : null;
  const pending: PendingSignIn = { provider: provider.name, verifier, nonce, redirectTo: target, binding: sha256(binding) };
  await ctx.state.put(STATE_KEY + sha256(state), JSON.stringify(pending), STATE_TTL_MS);

  const parameters: Record<string, string> = {
    redirect_uri: callbackUrl(ctx, provider),
    scope: provider.scopes,
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  };
  if (nonce) parameters.nonce = nonce;
  return { location: client.buildAuthorizationUrl(config, parameters).href, binding };
}

// ---------------------------------------------------------------------------------------------------------
// 2. The callback

export type CallbackOutcome =
  | { ok: true; redirectTo: string; code: string }
  /** A failure worth showing in the application (denied consent, provider down, e-mail conflict). */
  | { ok: false; redirectTo: string; error: AppError; providerError?: string };

/**
 * Checks the callback and finishes the sign-in. A missing, unknown, used or foreign `state` throws
 * `invalid_or_expired_token`; a failed protocol check (PKCE, nonce, issuer, signature, code) throws
 * `oauth_failed`. Outcomes the user should see in the application come back as `ok: false`. `locale`: the
 * browser's language, kept by an account this sign-in creates (its verification e-mail is in it).
 */
export async function finishSignIn(ctx: Context, providerName: string, search: URLSearchParams, binding: string | undefined, locale?: Locale): Promise<CallbackOutcome> {
  const provider = findProvider(ctx, providerName);
  const state = search.get('state');
  if (!state || state.length > 512) throw new AppError('invalid_or_expired_token', { message: 'The sign-in state is missing' });
  // take(): a state works once, however many requests race with it.
  const raw = await ctx.state.take(STATE_KEY + sha256(state));
  const pending = raw ? (JSON.parse(raw) as PendingSignIn) : null;
  if (!pending || pending.provider !== provider.name) {
    throw new AppError('invalid_or_expired_token', { message: 'The sign-in state is unknown, used or expired: start the sign-in again' });
  }
  if (!isBinding(binding) || !safeEqual(sha256(binding), pending.binding)) {
    throw new AppError('invalid_or_expired_token', { message: 'This sign-in was started in another browser: start it again here' });
  }
  const redirectTo = pending.redirectTo;

  const providerError = search.get('error');
  if (providerError !== null) {
    const reported = /^[A-Za-z0-9_.-]{1,64}$/.test(providerError) ? providerError : 'invalid_response';
    ctx.log.info({ provider: provider.name, providerError: reported }, 'oauth provider returned an error');
    const message = reported === 'access_denied' ? `Sign-in with ${provider.label} was cancelled` : `${provider.label} refused the sign-in (${reported})`;
    return { ok: false, redirectTo, error: new AppError('oauth_failed', { message }), providerError: reported };
  }
  if (!pending.verifier) throw new AppError('oauth_failed', { message: 'The sign-in has no PKCE verifier' });

  let profile: ProviderProfile;
  try {
    const config = await clients(ctx).get(provider);
    const current = new URL(callbackUrl(ctx, provider));
    current.search = search.toString();
    const tokens = await client.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: pending.verifier,
      expectedState: state,
      ...(pending.nonce ? { expectedNonce: pending.nonce, idTokenExpected: true } : {}),
    });
    profile = provider.kind === 'github' ? await githubProfile(config, provider, tokens.access_token) : await oidcProfile(config, tokens);
  } catch (err) {
    if (isUnavailable(err)) {
      ctx.log.warn({ provider: provider.name, failure: failureSummary(err) }, 'oauth provider unavailable');
      return { ok: false, redirectTo, error: unavailable(provider) };
    }
    ctx.log.warn({ provider: provider.name, failure: failureSummary(err) }, 'oauth callback refused');
    throw err instanceof AppError ? err : new AppError('oauth_failed', { message: `The answer from ${provider.label} did not pass the checks: start the sign-in again` });
  }

  const resolved = await resolveAccount(ctx, provider, profile, locale);
  if ('error' in resolved) return { ok: false, redirectTo, error: resolved.error };
  const user = resolved.user;
  // Refused here already, so the application shows why instead of receiving a code that cannot be used.
  const refusal = signInRefusal(ctx.config, user);
  if (refusal !== null) return { ok: false, redirectTo, error: new AppError(refusal) };

  const code = randomToken(EXCHANGE_CODE_PREFIX);
  const grant: ExchangeGrant = { userId: user.id, provider: provider.name };
  await ctx.state.put(CODE_KEY + sha256(code), JSON.stringify(grant), EXCHANGE_CODE_TTL_MS);
  ctx.log.info({ provider: provider.name, userId: user.id }, 'oauth sign-in');
  return { ok: true, redirectTo, code };
}

function claimString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function claimBoolean(value: unknown): boolean | null {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return null;
}

/** The id_token (already checked by openid-client: signature, iss, aud, exp, nonce), completed by userinfo. */
async function oidcProfile(config: client.Configuration, tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers): Promise<ProviderProfile> {
  const claims = tokens.claims();
  if (!claims) throw new AppError('oauth_failed', { message: 'The provider sent no id_token' });
  let email = claimString(claims.email);
  let verified = claimBoolean(claims.email_verified);
  let name = claimString(claims.name) ?? claimString(claims.nickname);
  // Many providers (Kakao, and any that follow OIDC's conform-claims rule) put the e-mail only in userinfo.
  if ((email === null || verified === null) && config.serverMetadata().userinfo_endpoint) {
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    email ??= claimString(info.email);
    verified ??= claimBoolean(info.email_verified);
    name ??= claimString(info.name) ?? claimString(info.nickname);
  }
  return { subject: claims.sub, email, emailVerified: verified === true, name };
}

/** GitHub has no id_token: the user API says who, the e-mails API which addresses GitHub has verified. */
async function githubProfile(config: client.Configuration, provider: OAuthProviderConfig, accessToken: string): Promise<ProviderProfile> {
  const headers = new Headers({ accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' });
  const get = async (url: string): Promise<unknown> => {
    const res = await client.fetchProtectedResource(config, accessToken, new URL(url), 'GET', undefined, headers);
    if (res.status >= 500) throw new ProviderUnavailableError(`GitHub answered ${res.status}`);
    if (!res.ok) throw new AppError('oauth_failed', { message: `GitHub refused the profile request (${res.status})` });
    return res.json();
  };
  const userUrl = provider.userinfoUrl!;
  const user = (await get(userUrl)) as { id?: unknown; login?: unknown; name?: unknown };
  if (typeof user.id !== 'number' && typeof user.id !== 'string') throw new AppError('oauth_failed', { message: 'GitHub sent no user id' });
  const emails = (await get(`${userUrl}/emails`)) as Array<{ email?: unknown; primary?: unknown; verified?: unknown }>;
  const primary = Array.isArray(emails) ? emails.find((e) => e.primary === true && typeof e.email === 'string') : undefined;
  return {
    subject: String(user.id),
    email: primary ? (primary.email as string) : null,
    emailVerified: primary?.verified === true,
    name: claimString(user.name) ?? claimString(user.login),
  };
}

// ---------------------------------------------------------------------------------------------------------
// 3. Which local account

type Resolution = { user: User } | { error: AppError };

/** A write lost a race with a concurrent sign-in: the transaction is rolled back and the decision made again. */
class LostRace extends Error {}

/**
 * Finds or makes the local account, in one transaction. Two first sign-ins of one provider account at once
 * both see no identity; the one that commits second hits a unique key, rolls back and, deciding again, finds
 * the identity the first made: one user, and no error for either.
 */
export async function resolveAccount(ctx: Context, provider: OAuthProviderConfig, profile: ProviderProfile, locale?: Locale): Promise<Resolution> {
  for (let attempt = 0; ; attempt++) {
    try {
      const outcome = await ctx.transaction((tx) => decideAccount(ctx, tx, provider, profile, initialLocale(locale)));
      if ('user' in outcome && outcome.created) sendVerificationEmail(ctx, outcome.user);
      return outcome;
    } catch (err) {
      if (!(err instanceof LostRace) || attempt >= 2) throw err instanceof LostRace ? new AppError('conflict') : err;
    }
  }
}

async function decideAccount(
  ctx: Context,
  tx: Stores,
  provider: OAuthProviderConfig,
  profile: ProviderProfile,
  locale: Locale | null = null,
): Promise<{ user: User; created?: boolean } | { error: AppError }> {
  const now = ctx.now();
  const email = profile.email === null ? null : normalizeEmail(profile.email);

  const known = await tx.identities.find(provider.name, profile.subject);
  if (known) {
    const user = await tx.users.findById(known.userId);
    if (!user) return { error: new AppError('oauth_failed', { message: 'The linked account no longer exists' }) };
    if (known.email !== email || known.emailVerified !== profile.emailVerified) {
      await tx.identities.updateProfile(provider.name, profile.subject, email, profile.emailVerified);
    }
    // The provider now vouches for the address this account was made with: it counts as verified.
    if (user.emailVerifiedAt === null && profile.emailVerified && email === user.email) {
      return { user: (await tx.users.update(user.id, { emailVerifiedAt: now }, now)) ?? user };
    }
    return { user };
  }

  if (email === null || checkEmail(email) !== null) {
    return { error: new AppError('oauth_failed', { message: `${provider.label} did not share a usable e-mail address; allow access to it and try again` }) };
  }
  const identity: Identity = { provider: provider.name, subject: profile.subject, userId: '', email, emailVerified: profile.emailVerified, createdAt: now };

  const local = await tx.users.findByEmail(email);
  if (local) {
    // Linking needs both sides to vouch for the address: the provider, and this server (the account's own
    // verification). Anything less would let whoever controls one side take over the other.
    if (!profile.emailVerified || local.emailVerifiedAt === null) {
      const message = !profile.emailVerified
        ? `An account with this e-mail already exists, and ${provider.label} has not verified the address, so they cannot be linked: sign in with your password`
        : `An account with this e-mail already exists but its address is not verified yet: sign in with your password (or reset it), then use ${provider.label} again`;
      ctx.log.info({ provider: provider.name, userId: local.id, providerVerified: profile.emailVerified }, 'oauth link refused');
      return { error: new AppError('email_taken', { message }) };
    }
    const linked = await tx.identities.listByUser(local.id);
    // This very provider account, linked by a concurrent first sign-in since the lookup above.
    if (linked.some((i) => i.provider === provider.name && i.subject === profile.subject)) return { user: local };
    if (linked.some((i) => i.provider === provider.name)) {
      return { error: new AppError('conflict', { message: `This account is already linked to another ${provider.label} account` }) };
    }
    // A concurrent callback for the same provider account linked it a moment ago: decide again.
    if (!(await tx.identities.link({ ...identity, userId: local.id }))) throw new LostRace();
    ctx.log.info({ provider: provider.name, userId: local.id }, 'oauth identity linked by verified e-mail');
    await tx.audit.append(auditEvent(ctx, 'oauth_linked', { userId: local.id, detail: { provider: provider.name, by: 'verified_email' } }));
    return { user: local };
  }

  const user = newUser(email, profile, now, locale);
  // Lost a race with a concurrent sign-in or sign-up for the same person: decide again with what is there now.
  if (!(await tx.users.create(user))) throw new LostRace();
  if (!(await tx.identities.link({ ...identity, userId: user.id }))) throw new LostRace();
  ctx.log.info({ provider: provider.name, userId: user.id }, 'oauth account created');
  await tx.audit.append(auditEvent(ctx, 'register', { userId: user.id, detail: { provider: provider.name } }));
  await tx.audit.append(auditEvent(ctx, 'oauth_linked', { userId: user.id, detail: { provider: provider.name, by: 'new_account' } }));
  return { user, created: true };
}

function newUser(email: string, profile: ProviderProfile, now: number, locale: Locale | null): User {
  const fallback = email.split('@')[0]!.slice(0, 100);
  const fromProvider = profile.name === null ? null : normalizeName(profile.name).slice(0, 100);
  const name = fromProvider && checkName(fromProvider) === null ? fromProvider : normalizeName(fallback);
  return {
    id: uuidv7(now),
    email,
    name,
    role: 'user',
    passwordHash: null,
    emailVerifiedAt: profile.emailVerified ? now : null,
    disabledAt: null,
    createdAt: now,
    updatedAt: now,
    lastLoginAt: null,
    locale,
  };
}

// ---------------------------------------------------------------------------------------------------------
// 4. The one-time code becomes a login

export async function exchangeCode(ctx: Context, code: string, mode: LoginMode, clientInfo: ClientInfo): Promise<SignInResult> {
  const raw = code.startsWith(EXCHANGE_CODE_PREFIX) && code.length <= 100 ? await ctx.state.take(CODE_KEY + sha256(code)) : null;
  if (!raw) throw new AppError('invalid_or_expired_token', { message: 'The sign-in code is invalid, used or expired' });
  const grant = JSON.parse(raw) as ExchangeGrant;
  const user = await ctx.users.findById(grant.userId);
  if (!user) throw new AppError('invalid_or_expired_token', { message: 'The sign-in code is invalid, used or expired' });
  const result = await completeSignIn(ctx, { user, amr: [AMR.federated], mode, client: clientInfo, detail: { provider: grant.provider } });
  ctx.log.info({ provider: grant.provider, userId: user.id, sessionId: result.kind === 'signed_in' ? result.issued.session.id : null, mode, mfaRequired: result.kind === 'mfa_required' }, 'oauth code exchanged');
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// 5. Linked identities

export interface IdentityList {
  identities: Identity[];
  hasPassword: boolean;
}

export async function listIdentities(ctx: Context, userId: string): Promise<IdentityList> {
  const user = await ctx.users.findById(userId);
  if (!user) throw new AppError('token_revoked');
  return { identities: await ctx.identities.listByUser(userId), hasPassword: user.passwordHash !== null };
}

export async function unlinkIdentity(ctx: Context, userId: string, provider: string): Promise<void> {
  await removeWayIn(ctx, userId, async (tx) => {
    if ((await tx.identities.deleteByProvider(userId, provider)) === 0) throw new AppError('not_found', { message: 'No linked identity at that provider' });
  });
  ctx.log.info({ provider, userId }, 'oauth identity unlinked');
  await recordEvent(ctx, 'oauth_unlinked', { userId, detail: { provider } });
}
