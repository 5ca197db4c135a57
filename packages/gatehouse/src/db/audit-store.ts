import type { AuditEvent, AuditQuery, AuditStore, AuditType } from '../audit/store.ts';
import type { Selectable } from 'kysely';
import type { AuditEventsTable, Db } from './schema.ts';

export class SqlAuditStore implements AuditStore {
  constructor(private readonly db: Db) {}

  async append(event: AuditEvent): Promise<void> {
    await this.db
      .insertInto('audit_events')
      .values({
        id: event.id,
        at: event.at,
        type: event.type,
        user_id: event.userId,
        session_id: event.sessionId,
        ip: event.ip,
        user_agent: event.userAgent,
        detail: event.detail ? JSON.stringify(event.detail) : null,
      })
      .execute();
  }

  async list(query: AuditQuery): Promise<AuditEvent[]> {
    let select = this.db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(query.limit);
    if (query.userId) select = select.where('user_id', '=', query.userId);
    if (query.type) select = select.where('type', '=', query.type);
    if (query.beforeId) select = select.where('id', '<', query.beforeId);
    if (query.since !== undefined) select = select.where('at', '>=', query.since);
    if (query.until !== undefined) select = select.where('at', '<', query.until);
    return (await select.execute()).map(toEvent);
  }

  async listMentioning(userId: string, afterId: string | null, limit: number): Promise<AuditEvent[]> {
    // Ids are UUIDs: no LIKE wildcard in them to escape.
    let select = this.db
      .selectFrom('audit_events')
      .selectAll()
      .where((eb) => eb.or([eb('user_id', '=', userId), eb('detail', 'like', `%${userId}%`)]))
      .orderBy('id')
      .limit(limit);
    if (afterId) select = select.where('id', '>', afterId);
    return (await select.execute()).map(toEvent);
  }

  async rewrite(event: AuditEvent): Promise<void> {
    await this.db
      .updateTable('audit_events')
      .set({ user_id: event.userId, session_id: event.sessionId, ip: event.ip, user_agent: event.userAgent, detail: event.detail ? JSON.stringify(event.detail) : null })
      .where('id', '=', event.id)
      .execute();
  }

  async deleteBefore(at: number): Promise<number> {
    const result = await this.db.deleteFrom('audit_events').where('at', '<', at).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function toEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: row.id,
    at: row.at,
    type: row.type as AuditType,
    userId: row.user_id,
    sessionId: row.session_id,
    ip: row.ip,
    userAgent: row.user_agent,
    detail: row.detail ? JSON.parse(row.detail) : null,
  };
}
