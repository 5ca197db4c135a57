// The per-IP limit on every request (RATE_LIMIT_IP). Health checks are exempt: a load balancer polls them.
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { ipBucket } from '../../sessions/throttle.ts';
import type { App } from '../types.ts';

const EXEMPT = new Set(['/health', '/ready']);

export function registerIpRateLimit(app: App, ctx: Context): void {
  const limit = ctx.config.rateLimits.ip;
  app.addHook('onRequest', async (request, reply) => {
    if (EXEMPT.has(request.url)) return;
    const counter = await ctx.state.hit(`ip:${ipBucket(request.ip)}`, limit.windowMs);
    const remaining = Math.max(0, limit.max - counter.count);
    reply.header('ratelimit-limit', String(limit.max));
    reply.header('ratelimit-remaining', String(remaining));
    reply.header('ratelimit-reset', String(Math.ceil(counter.resetInMs / 1000)));
    if (counter.count > limit.max) throw new AppError('rate_limited', { retryAfter: Math.max(1, Math.ceil(counter.resetInMs / 1000)) });
  });
}
