// Rate limits that are rules of the domain: failed logins per account and per IP, sign-ups per IP.
import type { Context } from '../context.ts';
import type { RateLimit } from '../config.ts';
import { sha256 } from '../crypto/random.ts';
import { AppError } from '../errors.ts';
import { deviceNonce } from './device-cookie.ts';

// Account keys are hashed so that e-mail addresses never sit in Redis in clear.
const accountKey = (email: string) => `login:acct:${sha256(email)}`;
const ipKey = (ip: string) => `login:ip:${ipBucket(ip)}`;
const deviceKey = (nonce: string) => `login:device:${nonce}`;

/**
 * The bucket a login attempt's failures count against (src/sessions/device-cookie.ts): the device's, when the
 * request carries a valid device cookie for this e-mail that is not itself locked out; the account's otherwise.
 * Both buckets have the RATE_LIMIT_LOGIN_ACCOUNT limit; the per-IP limit applies either way.
 */
async function loginBucket(ctx: Context, email: string, deviceCookie: string | null | undefined): Promise<string> {
  const nonce = deviceCookie ? deviceNonce(ctx.config.secret, email, deviceCookie) : null;
  if (nonce) {
    const counter = await ctx.state.peek(deviceKey(nonce));
    if (!counter || counter.count < ctx.config.rateLimits.loginAccount.max) return deviceKey(nonce);
  }
  return accountKey(email);
}

/**
 * The bucket a client address counts against. IPv4: the address. IPv6: its /64, because one subscriber is
 * usually given a whole /64 and could otherwise rotate through 2^64 addresses, each with a fresh limit.
 */
export function ipBucket(ip: string): string {
  if (!ip.includes(':')) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

function limited(resetInMs: number): AppError {
  return new AppError('rate_limited', { retryAfter: Math.max(1, Math.ceil(resetInMs / 1000)) });
}

async function refuseIfOver(ctx: Context, key: string, limit: RateLimit, name: 'login_account' | 'login_ip'): Promise<void> {
  const counter = await ctx.state.peek(key);
  if (counter && counter.count >= limit.max) {
    ctx.metrics.rateLimited(name);
    throw limited(counter.resetInMs);
  }
}

/**
 * Before any password work: while an account or an IP is over its limit, even the right password gets 429. A
 * request with the device cookie of an earlier sign-in to this account is held to its device's bucket instead.
 */
export async function checkLoginAllowed(ctx: Context, email: string, ip: string, deviceCookie?: string | null): Promise<void> {
  await refuseIfOver(ctx, await loginBucket(ctx, email, deviceCookie), ctx.config.rateLimits.loginAccount, 'login_account');
  await refuseIfOver(ctx, ipKey(ip), ctx.config.rateLimits.loginIp, 'login_ip');
}

/**
 * Counts a failure against the account (or the trusted device's bucket, see checkLoginAllowed) and the IP; true
 * when this one locked the account or that device (its counter just reached the limit).
 */
export async function recordLoginFailure(ctx: Context, email: string, ip: string, deviceCookie?: string | null): Promise<boolean> {
  const { loginAccount, loginIp } = ctx.config.rateLimits;
  const bucket = await loginBucket(ctx, email, deviceCookie);
  const [counted] = await Promise.all([ctx.state.hit(bucket, loginAccount.windowMs), ctx.state.hit(ipKey(ip), loginIp.windowMs)]);
  return counted.count === loginAccount.max;
}

/**
 * Clears the counter the sign-in was held to: the account's, or only the device's when it came with a trusted
 * device cookie (the owner signing in on their own device does not hand an attacker elsewhere fresh tries).
 */
export async function recordLoginSuccess(ctx: Context, email: string, deviceCookie?: string | null): Promise<void> {
  await ctx.state.delete(await loginBucket(ctx, email, deviceCookie));
}

/** Counts one sign-up-like request (register, forgot-password, resend) from this IP. */
export async function consumeSignupAttempt(ctx: Context, ip: string): Promise<void> {
  const limit = ctx.config.rateLimits.signupIp;
  const counter = await ctx.state.hit(`signup:ip:${ipBucket(ip)}`, limit.windowMs);
  if (counter.count > limit.max) {
    ctx.metrics.rateLimited('signup_ip');
    throw limited(counter.resetInMs);
  }
}

/**
 * Counts one recovery or verification e-mail to this address; not allowed once the address has had its share.
 * Rotating IPs must not turn forgot-password into a way to flood someone's mailbox.
 */
export async function allowMailTo(ctx: Context, email: string): Promise<{ allowed: boolean; resetInMs: number }> {
  const limit = ctx.config.rateLimits.mailAccount;
  const counter = await ctx.state.hit(`mail:acct:${sha256(email)}`, limit.windowMs);
  const allowed = counter.count <= limit.max;
  if (!allowed) ctx.metrics.rateLimited('mail_account');
  return { allowed, resetInMs: counter.resetInMs };
}
