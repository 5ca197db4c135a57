// /admin: find users, change a role, disable or enable, delete. Admins only; the same service calls as
// the admin API, so the last-admin rule and session revocation hold here too. Changes need a recent sign-in, as
// the admin API's do, and a role that must have a second factor gets none of this until it has one.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { deleteUser, getUserById, listUsers, patchUser, type AdminPatch } from '../../admin/service.ts';
import { inviteUser, resendVerificationFor } from '../../admin/invite.ts';
import { endUserSession, listUserSessions, signOutUser } from '../../admin/user-sessions.ts';
import { auditPages } from './admin-audit.ts';
import { AppError } from '../../errors.ts';
import { escapeHtml } from '../../html.ts';
import type { MessageKey, Translator } from '../../i18n/index.ts';
import { clientInfo, type App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { csrfInput, date, errorsByField, field, formError, hidden } from './layout.ts';
import { markup, tHtml } from './markup.ts';
import { formField, queryField, refusal, type SignedIn } from './page-request.ts';
import { enrolNotice, mustEnrol, type StepUp } from './step-up.ts';

/** A refusal shown beside the user it concerns. */
interface RowProblem {
  userId: string;
  message: string;
  status: number;
}

/** The invitation form came back: what was typed and what is wrong. */
interface InviteProblem {
  status: number;
  values: Record<string, string>;
  errors: Record<string, string>;
  message?: string;
}

/** The list's filters, carried by every form and link of the page. */
interface Filter {
  q: string;
  disabled: boolean;
}

const INVITE_FORM = form({ email: f.email, name: f.text('The name: up to 100 characters after trimming; the address\'s local part when empty', 1000), role: f.text('The role', 32) }, ['name', 'role']);

/** The list to come back to after an action. */
function listUrl(filter: Filter): string {
  const params = new URLSearchParams();
  if (filter.q) params.set('q', filter.q);
  if (filter.disabled) params.set('disabled', '1');
  const query = params.toString();
  return query ? `/admin?${query}` : '/admin';
}

/**
 * For every admin page: the admin, or null once the answer is sent (a redirect to sign in, the 403 page for
 * others, or "add a second factor first" for an admin who must enrol).
 */
export function adminGate(kit: PageKit): (request: FastifyRequest, reply: FastifyReply) => Promise<SignedIn | null> {
  const { ctx, pages } = kit;
  return async function adminOr(request, reply) {
    const viewer = await pages.viewer(request);
    if (!viewer) {
      reply.header('cache-control', 'no-store').redirect('/login?redirect_to=%2Fadmin', 303);
      return null;
    }
    const t = kit.t(request);
    if (viewer.user.role !== 'admin') {
      await kit.show(request, reply, viewer, { title: t('admin.notAllowed.title'), status: 403, body: () => `<p>${escapeHtml(t('admin.notAllowed.body'))} <a href="/account">${escapeHtml(t('admin.notAllowed.back'))}</a></p>` });
      return null;
    }
    if (await mustEnrol(ctx, viewer)) {
      await kit.show(request, reply, viewer, { title: t('admin.notAllowedYet.title'), status: 403, body: () => `<p class="form-error" role="alert">${escapeHtml(enrolNotice(t))}</p><p><a href="/account#mfa">${escapeHtml(t('admin.notAllowedYet.add'))}</a></p>` });
      return null;
    }
    return viewer;
  };
}

export function adminPages(app: App, kit: PageKit, stepUp: StepUp): void {
  const { ctx, pages } = kit;

  const adminOr = adminGate(kit);

  async function adminPage(request: FastifyRequest, reply: FastifyReply, viewer: SignedIn, filter: Filter, cursor: string, problem?: RowProblem, invite?: InviteProblem) {
    const { q } = filter;
    const t = kit.t(request);
    const h = (key: MessageKey) => escapeHtml(t(key));
    const when = (ms: number | string | null) => markup(date(t, ms));
    const disabled = filter.disabled ? true : undefined;
    let page;
    let searchError: string | undefined;
    try {
      page = await listUsers(ctx, { q: q || undefined, limit: 50, cursor: cursor || undefined, disabled });
    } catch (err) {
      // Only a hand-edited cursor gets here: start from the first page again.
      if (!refusal(err, reply, t)) throw err;
      searchError = t('admin.searchPageGone');
      page = await listUsers(ctx, { q: q || undefined, limit: 50, disabled });
    }
    const roleOptions = (current: string) =>
      ctx.config.roles.map((r) => `<option value="${escapeHtml(r)}"${r === current ? ' selected' : ''}>${escapeHtml(r)}</option>`).join('');
    const back = (csrf: string) => `${csrfInput(csrf)}${hidden('q', q)}${filter.disabled ? hidden('disabled', '1') : ''}`;
    const inviteRole = invite?.values.role ?? 'user';
    const body = (csrf: string) => `
<p><a href="/admin/audit-log">${h('admin.auditLink')}</a>${ctx.config.oidcProvider ? ` · <a href="/admin/clients/page">${h('adminClients.link')}</a>` : ''}</p>
<form method="get" action="/admin" class="search" role="search">
${field({ name: 'q', label: t('admin.search.label'), type: 'search', value: q, error: searchError, maxlength: 200 })}
<div class="field"><input type="checkbox" id="disabled" name="disabled" value="1"${filter.disabled ? ' checked' : ''}> <label for="disabled">${h('admin.search.disabledOnly')}</label></div>
<button type="submit">${h('admin.search.submit')}</button></form>
<ul class="rows users">${page.users
      .map((u) => {
        const rowError = problem?.userId === u.id ? problem.message : undefined;
        const errorId = `user-${u.id}-error`;
        const described = rowError ? ` aria-describedby="${errorId}"` : '';
        return `<li${rowError ? ' class="invalid"' : ''}><div><strong>${escapeHtml(u.name)}</strong> ${u.disabledAt !== null ? `<span class="tag warn">${h('admin.user.disabledTag')}</span>` : ''}<br>
<small>${tHtml(t, 'admin.user.details', { email: u.email, confirmed: t(u.emailVerifiedAt === null ? 'admin.user.notConfirmed' : 'admin.user.confirmed'), joined: when(u.createdAt), lastSignIn: when(u.lastLoginAt) })}</small>
${rowError ? `<p class="field-error" id="${errorId}" role="alert">${escapeHtml(rowError)}</p>` : ''}</div>
<div class="actions">
<form method="post" action="/admin/users/role" class="inline">${back(csrf)}${hidden('id', u.id)}
<label for="role-${u.id}">${h('admin.user.role')}</label> <select id="role-${u.id}" name="role"${rowError ? ' aria-invalid="true"' : ''}${described}>${roleOptions(u.role)}</select>
<button type="submit" class="secondary">${h('admin.user.changeRole')}</button></form>
<form method="post" action="/admin/users/disable" class="inline">${back(csrf)}${hidden('id', u.id)}${hidden('disabled', u.disabledAt === null ? 'true' : 'false')}
<button type="submit" class="secondary"${described}>${h(u.disabledAt === null ? 'admin.user.disable' : 'admin.user.enable')}</button></form>
<form method="post" action="/admin/users/sign-out" class="inline">${back(csrf)}${hidden('id', u.id)}
<button type="submit" class="secondary" aria-label="${escapeHtml(t('admin.user.signOutLabel', { email: u.email }))}"${described}>${h('admin.user.signOut')}</button></form>
<a href="/admin/users/sessions?id=${u.id}" aria-label="${escapeHtml(t('admin.user.sessionsLabel', { email: u.email }))}">${h('admin.user.sessions')}</a>
${u.emailVerifiedAt === null ? `<form method="post" action="/admin/users/resend-verification" class="inline">${back(csrf)}${hidden('id', u.id)}
<button type="submit" class="secondary"${described}>${h('admin.user.resend')}</button></form>` : ''}
<form method="post" action="/admin/users/delete" class="inline">${back(csrf)}${hidden('id', u.id)}
<button type="submit" class="danger" data-confirm="${escapeHtml(t('admin.user.deleteConfirm', { email: u.email }))}"${described}>${h('admin.user.delete')}</button></form>
</div></li>`;
      })
      .join('')}</ul>
${page.users.length === 0 ? `<p>${h('admin.noUsers')}</p>` : ''}
${page.nextCursor ? `<p><a href="/admin?q=${encodeURIComponent(q)}${filter.disabled ? '&amp;disabled=1' : ''}&amp;cursor=${encodeURIComponent(page.nextCursor)}">${h('admin.nextPage')}</a></p>` : ''}

<section aria-labelledby="invite-h" id="invite"><h2 id="invite-h">${h('admin.invite.heading')}</h2>
${formError(invite?.message)}
<form method="post" action="/admin/invite" novalidate>${csrfInput(csrf)}
${field({ name: 'email', idPrefix: 'invite-', label: t('admin.invite.email'), type: 'email', value: invite?.values.email, error: invite?.errors.email, autocomplete: 'off', required: true, maxlength: 320 })}
${field({ name: 'name', idPrefix: 'invite-', label: t('admin.invite.name'), value: invite?.values.name, error: invite?.errors.name, autocomplete: 'off', maxlength: 100 })}
<div class="field${invite?.errors.role ? ' invalid' : ''}"><label for="invite-role">${h('admin.invite.role')}</label> <select id="invite-role" name="role"${invite?.errors.role ? ' aria-invalid="true" aria-describedby="invite-role-error"' : ''}>${roleOptions(inviteRole)}</select>
${invite?.errors.role ? `<p class="field-error" id="invite-role-error">${escapeHtml(invite.errors.role)}</p>` : ''}</div>
<button type="submit">${h('admin.invite.submit')}</button></form></section>`;
    return kit.show(request, reply, viewer, { title: t('admin.title'), status: problem?.status ?? invite?.status, body });
  }

  // 403: signed in, but not an admin.
  const filterOf = (request: FastifyRequest, read: (name: string, max: number) => string): Filter => ({ q: read('q', 200), disabled: read('disabled', 5) === '1' });

  app.get(
    '/admin',
    { schema: shows([403], { q: f.text('Search by name or e-mail', 200), disabled: f.text('"1": only disabled users', 5), cursor: f.text('The next page, as its link gave it', 200) }, true) },
    async (request, reply) => {
      const viewer = await adminOr(request, reply);
      return viewer ? adminPage(request, reply, viewer, filterOf(request, (n, m) => queryField(request, n, m)), queryField(request, 'cursor', 200)) : reply;
    },
  );

  function action(path: string, run: (request: FastifyRequest, viewer: SignedIn, id: string, t: Translator) => Promise<string>) {
    // Each button's form: the user's id, the search to come back to, and the change.
    const fields = {
      id: f.id,
      q: f.text('The search to return to', 200),
      ...(path === '/admin/users/role' ? { role: f.text('The new role', 32) } : {}),
      disabled: f.text(path === '/admin/users/disable' ? '"true" to disable, "false" to enable' : '"1": the list to return to shows only disabled users', 5),
    };
    const optional = path === '/admin/users/disable' ? ['q'] : ['q', 'disabled'];
    // 403 form expired (CSRF), not an admin, or a recent sign-in is needed; 404 no such user; 409 the last admin.
    app.post(path, { schema: posts(form(fields, optional), [403, 404, 409]) }, async (request, reply) => {
      pages.checkCsrf(request);
      const viewer = await adminOr(request, reply);
      if (!viewer) return reply;
      const t = kit.t(request);
      const id = formField(request.body, 'id', 64);
      // The disable form's own "disabled" field is the change, not the list's filter.
      const filter: Filter = { q: formField(request.body, 'q', 200), disabled: path !== '/admin/users/disable' && formField(request.body, 'disabled', 5) === '1' };
      try {
        await stepUp.assertRecent(viewer);
        const done = await run(request, viewer, id, t);
        return pages.redirect(reply, listUrl(filter), { kind: 'ok', text: done });
      } catch (err) {
        if (stepUp.isNeeded(err)) return stepUp.confirm(request, reply, viewer, '/admin');
        const shown = refusal(err, reply, t);
        if (!shown) throw err;
        const detail = (err as AppError).details?.[0]?.message;
        return adminPage(request, reply, viewer, filter, '', { userId: id, status: shown.status, message: detail === undefined ? shown.message : t.server(detail) });
      }
    });
  }

  const actor = (request: FastifyRequest, viewer: SignedIn) => ({ userId: viewer.user.id, client: clientInfo(request) });

  action('/admin/users/role', async (request, viewer, id, t) => {
    const user = await patchUser(ctx, id, { role: formField(request.body, 'role', 32) }, actor(request, viewer));
    return t('admin.flash.roleChanged', { email: user.email, role: user.role });
  });

  action('/admin/users/disable', async (request, viewer, id, t) => {
    const patch: AdminPatch = { disabled: formField(request.body, 'disabled', 5) !== 'false' };
    const user = await patchUser(ctx, id, patch, actor(request, viewer));
    return t(user.disabledAt === null ? 'admin.flash.enabled' : 'admin.flash.disabled', { email: user.email });
  });

  action('/admin/users/delete', async (request, viewer, id, t) => {
    await deleteUser(ctx, id, actor(request, viewer));
    return t('admin.flash.deleted');
  });

  action('/admin/users/sign-out', async (request, viewer, id, t) => {
    const user = await getUserById(ctx, id);
    const ended = await signOutUser(ctx, user, actor(request, viewer));
    return t.plural('admin.flash.signedOut', ended, { email: user.email });
  });

  // 409: the address is already verified. The mail is in the user's own language, not the admin's.
  action('/admin/users/resend-verification', async (request, viewer, id, t) => {
    const user = await getUserById(ctx, id);
    await resendVerificationFor(ctx, user, actor(request, viewer));
    return t('admin.flash.verificationSent', { email: user.email });
  });

  // 400 an invalid address, name or role (beside the field); 403 form expired, not an admin or a recent sign-in
  // is needed; 409 the address has an account.
  app.post('/admin/invite', { schema: posts(INVITE_FORM, [400, 403, 409]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const viewer = await adminOr(request, reply);
    if (!viewer) return reply;
    const t = kit.t(request);
    const values = { email: formField(request.body, 'email', 1000), name: formField(request.body, 'name', 1000), role: formField(request.body, 'role', 32) };
    try {
      await stepUp.assertRecent(viewer);
      const user = await inviteUser(ctx, { email: values.email, name: values.name.trim() ? values.name : undefined, role: values.role || undefined }, actor(request, viewer));
      return pages.redirect(reply, '/admin', { kind: 'ok', text: t('admin.flash.invited', { email: user.email }) });
    } catch (err) {
      if (stepUp.isNeeded(err)) return stepUp.confirm(request, reply, viewer, '/admin');
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      const errors = errorsByField(t, (err as AppError).details);
      if (err instanceof AppError && err.code === 'email_taken') errors.email = shown.message;
      return adminPage(request, reply, viewer, { q: '', disabled: false }, '', undefined, { status: shown.status, values, errors, message: Object.keys(errors).length ? undefined : shown.message });
    }
  });

  /** One user's live sessions, each with a button that ends it. */
  async function sessionsPage(request: FastifyRequest, reply: FastifyReply, viewer: SignedIn, id: string, problem?: { status: number; message: string }) {
    const t = kit.t(request);
    const h = (key: MessageKey) => escapeHtml(t(key));
    let user;
    try {
      user = await getUserById(ctx, id);
    } catch (err) {
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      return kit.show(request, reply, viewer, { title: t('admin.sessions.title'), status: shown.status, body: () => `${formError(shown.message)}<p><a href="/admin">${h('admin.backToUsers')}</a></p>` });
    }
    const sessions = await listUserSessions(ctx, user);
    const body = (csrf: string) => `
<p>${escapeHtml(user.name)} · ${escapeHtml(user.email)} · <a href="/admin/audit-log?user=${user.id}">${h('admin.auditLink')}</a> · <a href="/admin">${h('admin.backToUsers')}</a></p>
${formError(problem?.message)}
${sessions.length === 0 ? `<p>${h('admin.sessions.none')}</p>` : `<ul class="rows sessions">${sessions
      .map(
        (s) => `<li><div><strong>${escapeHtml(s.userAgent ?? t('admin.sessions.unknownDevice'))}</strong><br>
<small>${tHtml(t, 'admin.sessions.details', { ip: s.ip ?? '', signedIn: markup(date(t, s.createdAt)), lastUsed: markup(date(t, s.lastUsedAt)) })}</small></div>
<form method="post" action="/admin/users/sessions/end">${csrfInput(csrf)}${hidden('id', user.id)}${hidden('session', s.id)}<button type="submit" class="secondary" aria-label="${escapeHtml(s.userAgent === null ? t('admin.sessions.endUnknownLabel') : t('admin.sessions.endLabel', { device: s.userAgent }))}">${h('admin.sessions.end')}</button></form></li>`,
      )
      .join('')}</ul>`}`;
    return kit.show(request, reply, viewer, { title: t('admin.sessions.titleOf', { name: user.name }), status: problem?.status, body });
  }

  // 403 not an admin; 404 no such user.
  app.get('/admin/users/sessions', { schema: shows([403, 404], { id: f.id }, true) }, async (request, reply) => {
    const viewer = await adminOr(request, reply);
    return viewer ? sessionsPage(request, reply, viewer, queryField(request, 'id', 64)) : reply;
  });

  // 403 form expired, not an admin or a recent sign-in is needed; 404 no such user, or not their live session.
  app.post('/admin/users/sessions/end', { schema: posts(form({ id: f.id, session: f.text('The id of the session to end', 64) }), [403, 404]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const viewer = await adminOr(request, reply);
    if (!viewer) return reply;
    const t = kit.t(request);
    const id = formField(request.body, 'id', 64);
    try {
      await stepUp.assertRecent(viewer);
      const user = await getUserById(ctx, id);
      await endUserSession(ctx, user, formField(request.body, 'session', 64), actor(request, viewer));
      return pages.redirect(reply, `/admin/users/sessions?id=${encodeURIComponent(user.id)}`, { kind: 'ok', text: t('admin.flash.sessionEnded') });
    } catch (err) {
      if (stepUp.isNeeded(err)) return stepUp.confirm(request, reply, viewer, '/admin');
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      return sessionsPage(request, reply, viewer, id, shown);
    }
  });

  auditPages(app, kit, adminOr);
}
