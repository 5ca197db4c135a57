// GET /metrics in Prometheus text, behind METRICS_TOKEN when it is set; request counts and latency by route.
// In production config.ts refuses to start without METRICS_TOKEN unless METRICS=off, which leaves the route out:
// we chose a token on the one listener over a second, localhost-only listener, since Prometheus usually scrapes
// from another host and a token works through any proxy.
import type { Context } from '../../context.ts';
import { ping } from '../../db/migrations.ts';
import type { Db } from '../../db/schema.ts';
import { safeEqual } from '../../crypto/random.ts';
import { AppError } from '../../errors.ts';
import { PrometheusMetrics } from '../../metrics.ts';
import { errors } from '../responses.ts';
import type { App } from '../types.ts';

export function registerMetrics(app: App, ctx: Context, db: Db): void {
  const metrics = ctx.metrics;
  if (!(metrics instanceof PrometheusMetrics) || !ctx.config.metricsEnabled) return;
  metrics.addHealthCheck('gatehouse_database_up', 'Whether the database answers (1) or not (0)', () => ping(db));
  if (ctx.config.redisUrl) metrics.addHealthCheck('gatehouse_redis_up', 'Whether Redis answers (1) or not (0)', () => ctx.state.ping());

  // One series per method, route and status, found by one map lookup (metrics.ts RequestMetrics). The set is
  // bounded by the routes, their methods and the statuses. A callback hook: no promise per request.
  const http = metrics.http;
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the raw URL: ids and tokens must not become label values.
    http.observe(http.seriesOf(request.method, request.routeOptions.url ?? 'unmatched', String(reply.statusCode)), reply.elapsedTime / 1000);
    done();
  });

  const schema = {
    response: {
      200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
      ...errors(401),
    },
  };
  app.get('/metrics', { schema }, async (request, reply) => {
    const token = ctx.config.metricsToken;
    if (token) {
      const header = request.headers.authorization ?? '';
      if (!safeEqual(header, `Bearer ${token}`)) throw new AppError('authentication_required', { message: 'Send the metrics token as a Bearer token' });
    }
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
