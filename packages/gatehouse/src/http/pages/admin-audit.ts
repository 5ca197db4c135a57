// /admin/audit-log: the audit log for admins, newest first, filtered by event type and by user (an address, a user
// id, or an erased account's pseudonym), one page of 50 at a time through the cursor listEvents gives.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { listEvents } from '../../audit/service.ts';
import { AUDIT_TYPES, type AuditType } from '../../audit/store.ts';
import { UUID_PATTERN } from '../../crypto/random.ts';
import { escapeHtml } from '../../html.ts';
import { normalizeEmail } from '../../users/policy.ts';
import type { App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { formFields as f, shows } from './page-answers.ts';
import { date, field } from './layout.ts';
import { tHtml } from './markup.ts';
import { queryField, refusal, type SignedIn } from './page-request.ts';

const PAGE_SIZE = 50;
const PSEUDONYM = /^erased_[A-Za-z0-9_-]{1,128}$/;

type AdminOr = (request: FastifyRequest, reply: FastifyReply) => Promise<SignedIn | null>;

export function auditPages(app: App, kit: PageKit, adminOr: AdminOr): void {
  const { ctx } = kit;

  // 403: signed in, but not an admin.
  app.get(
    '/admin/audit-log',
    {
      schema: shows([403], {
        type: f.text(`Only events of this type: ${AUDIT_TYPES.join(', ')}`, 64),
        user: f.text('Only events about this user: an e-mail address, a user id or an erased account\'s pseudonym', 320),
        cursor: f.text('The next page, as its link gave it', 200),
      }, true),
    },
    async (request, reply) => {
      const viewer = await adminOr(request, reply);
      if (!viewer) return reply;
      const t = kit.t(request);
      const type = queryField(request, 'type', 64);
      const who = queryField(request, 'user', 320).trim();
      const cursor = queryField(request, 'cursor', 200);
      const errors: Record<string, string> = {};
      if (type && !(AUDIT_TYPES as readonly string[]).includes(type)) errors.type = t('admin.audit.badType');
      let userId: string | undefined;
      if (who.includes('@')) {
        userId = (await ctx.users.findByEmail(normalizeEmail(who)))?.id;
        if (!userId) errors.user = t('admin.audit.noSuchUser');
      } else if (who) {
        if (UUID_PATTERN.test(who) || PSEUDONYM.test(who)) userId = who;
        else errors.user = t('admin.audit.badUser');
      }
      let events: Awaited<ReturnType<typeof listEvents>> = { events: [], nextCursor: null };
      let pageError: string | undefined;
      if (Object.keys(errors).length === 0) {
        try {
          events = await listEvents(ctx, { type: (type || undefined) as AuditType | undefined, userId, cursor: cursor || undefined, limit: PAGE_SIZE });
        } catch (err) {
          // Only a hand-edited cursor gets here: start from the newest again.
          if (!refusal(err, reply, t)) throw err;
          pageError = t('admin.audit.pageGone');
          events = await listEvents(ctx, { type: (type || undefined) as AuditType | undefined, userId, limit: PAGE_SIZE });
        }
      }
      const emails = new Map<string, string>();
      for (const id of new Set(events.events.map((e) => e.userId).filter((id): id is string => id !== null && UUID_PATTERN.test(id)))) {
        const user = await ctx.users.findById(id);
        if (user) emails.set(id, user.email);
      }
      const filterQuery = (more: Record<string, string>) => {
        const params = new URLSearchParams();
        if (type) params.set('type', type);
        if (who) params.set('user', who);
        for (const [k, v] of Object.entries(more)) params.set(k, v);
        return escapeHtml(`/admin/audit-log?${params.toString()}`);
      };
      const typeOptions = [`<option value="">${escapeHtml(t('admin.audit.everyType'))}</option>`, ...AUDIT_TYPES.map((a) => `<option value="${a}"${a === type ? ' selected' : ''}>${a}</option>`)].join('');
      const body = () => `
<p><a href="/admin">${escapeHtml(t('admin.backToUsers'))}</a></p>
<form method="get" action="/admin/audit-log" class="search" role="search">
<div class="field${errors.type ? ' invalid' : ''}"><label for="type">${escapeHtml(t('admin.audit.type'))}</label> <select id="type" name="type"${errors.type ? ' aria-invalid="true" aria-describedby="type-error"' : ''}>${typeOptions}</select>
${errors.type ? `<p class="field-error" id="type-error">${escapeHtml(errors.type)}</p>` : ''}</div>
${field({ name: 'user', label: t('admin.audit.user'), value: who, error: errors.user ?? pageError, maxlength: 320 })}
<button type="submit">${escapeHtml(t('admin.audit.filter'))}</button></form>
${events.events.length === 0 ? `<p>${escapeHtml(t('admin.audit.none'))}</p>` : `<ul class="rows events">${events.events
        .map(
          (e) => `<li><div><strong>${escapeHtml(e.type)}</strong> · ${date(t, e.at)}<br>
<small>${e.userId ? tHtml(t, 'admin.audit.userIs', { user: emails.get(e.userId) ?? e.userId }) : escapeHtml(t('admin.audit.noUser'))}${e.ip ? ` · ${escapeHtml(e.ip)}` : ''}${e.userAgent ? ` · ${escapeHtml(e.userAgent)}` : ''}${e.detail ? ` · <code>${escapeHtml(JSON.stringify(e.detail))}</code>` : ''}</small></div></li>`,
        )
        .join('')}</ul>`}
${events.nextCursor ? `<p><a href="${filterQuery({ cursor: events.nextCursor })}">${escapeHtml(t('admin.audit.older'))}</a></p>` : ''}`;
      return kit.show(request, reply, viewer, { title: t('admin.audit.title'), body });
    },
  );
}
