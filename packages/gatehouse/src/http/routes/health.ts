import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { ping } from '../../db/migrations.ts';
import type { Db } from '../../db/schema.ts';
import { AppError } from '../../errors.ts';
import type { App } from '../types.ts';

export function healthRoutes(app: App, ctx: Context, db: Db): void {
  app.get('/health', { schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }));

  // 503 (a common answer of every route) is this route's whole point: the database or Redis is unreachable.
  app.get('/ready', { schema: { response: { 200: Type.Object({ status: Type.Literal('ready') }) } } }, async (request) => {
    const deadline = <T>(work: Promise<T>) =>
      Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('readiness check timed out')), 2000).unref())]);
    try {
      await deadline(ping(db));
      await deadline(ctx.state.ping());
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, 'not ready');
      throw new AppError('service_unavailable', { message: 'A backing service is unreachable', retryAfter: 5 });
    }
    return { status: 'ready' as const };
  });
}
