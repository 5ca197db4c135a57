// The audit log, for admins.
import { Type } from 'typebox';
import { listEvents } from '../../audit/service.ts';
import { AUDIT_TYPES, type AuditType } from '../../audit/store.ts';
import type { Context } from '../../context.ts';
import type { Guards } from '../plugins/auth.ts';
import { errors } from '../responses.ts';
import { CursorField, DateTime } from '../schemas.ts';
import type { App } from '../types.ts';

const EventSchema = Type.Object({
  id: Type.String(),
  at: DateTime,
  type: Type.String(),
  userId: Type.Union([Type.String(), Type.Null()]),
  sessionId: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Union([Type.Record(Type.String(), Type.Any()), Type.Null()]),
});

export function auditRoutes(app: App, ctx: Context, guards: Guards): void {
  app.get(
    '/admin/audit',
    {
      preHandler: guards.requireRole('admin'),
      schema: {
        querystring: Type.Object({
          userId: Type.Optional(Type.String({ maxLength: 64 })),
          type: Type.Optional(Type.Union(AUDIT_TYPES.map((t) => Type.Literal(t)))),
          cursor: Type.Optional(CursorField),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
          since: Type.Optional(Type.String({ format: 'date-time', description: 'Only events at or after this instant' })),
          until: Type.Optional(Type.String({ format: 'date-time', description: 'Only events before this instant' })),
        }),
        response: { 200: Type.Object({ events: Type.Array(EventSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errors(401, 403) },
      },
    },
    async (request) => {
      const { since, until, ...query } = request.query;
      const page = await listEvents(ctx, {
        ...query,
        type: query.type as AuditType | undefined,
        since: since === undefined ? undefined : Date.parse(since),
        until: until === undefined ? undefined : Date.parse(until),
      });
      return { events: page.events.map((e) => ({ ...e, at: new Date(e.at).toISOString() })), nextCursor: page.nextCursor };
    },
  );
}
