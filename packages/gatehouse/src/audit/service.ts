// Writing and reading the audit log.
import type { ClientInfo, Context } from '../context.ts';
import { UUID_PATTERN, uuidv7 } from '../crypto/random.ts';
import { validationError } from '../errors.ts';
import type { AuditEvent, AuditType } from './store.ts';

export interface AuditInput {
  userId?: string | null;
  sessionId?: string | null;
  client?: ClientInfo | null;
  detail?: AuditEvent['detail'];
}

/** The event `recordEvent` would append, for a store that writes it in the same transaction as its change. */
export function auditEvent(ctx: Context, type: AuditType, input: AuditInput = {}): AuditEvent {
  const at = ctx.now();
  return {
    id: uuidv7(at),
    at,
    type,
    userId: input.userId ?? null,
    sessionId: input.sessionId ?? null,
    ip: input.client?.ip ?? null,
    userAgent: input.client?.userAgent?.slice(0, 512) ?? null,
    detail: input.detail ?? null,
  };
}

/** Appends one event. The audit log must not lose events silently, but nor may it fail the user's request. */
export async function recordEvent(ctx: Context, type: AuditType, input: AuditInput = {}): Promise<void> {
  ctx.metrics?.event(type);
  try {
    await ctx.audit.append(auditEvent(ctx, type, input));
  } catch (err) {
    ctx.log.error({ err, auditType: type }, 'could not write the audit event');
  }
}

export interface AuditPage {
  events: AuditEvent[];
  nextCursor: string | null;
}

export interface EventQuery {
  userId?: string;
  type?: AuditType;
  cursor?: string;
  limit?: number;
  /** Only events at or after `since` and before `until` (epoch ms). */
  since?: number;
  until?: number;
}

export async function listEvents(ctx: Context, query: EventQuery): Promise<AuditPage> {
  const limit = query.limit ?? 50;
  let beforeId: string | undefined;
  if (query.cursor) {
    beforeId = Buffer.from(query.cursor, 'base64url').toString('utf8');
    if (!UUID_PATTERN.test(beforeId)) throw validationError([{ field: 'cursor', message: 'Invalid cursor' }]);
  }
  if (query.since !== undefined && query.until !== undefined && query.since >= query.until) {
    throw validationError([{ field: 'until', message: 'until must be after since' }]);
  }
  const events = await ctx.audit.list({ userId: query.userId, type: query.type, beforeId, since: query.since, until: query.until, limit: limit + 1 });
  const page = events.slice(0, limit);
  const last = page[page.length - 1];
  return { events: page, nextCursor: events.length > limit && last ? Buffer.from(last.id).toString('base64url') : null };
}

/** Deletes events older than AUDIT_RETENTION. */
export async function pruneEvents(ctx: Context): Promise<number> {
  return ctx.audit.deleteBefore(ctx.now() - ctx.config.auditRetentionMs);
}
