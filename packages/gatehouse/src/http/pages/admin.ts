// /admin: find users, change a role, disable or enable, delete. Admins only; the same service calls as
// the admin API, so the last-admin rule and session revocation hold here too. Changes need a recent sign-in, as
// the admin API's do, and a role that must have a second factor gets none of this until it has one.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { deleteUser, listUsers, patchUser, type AdminPatch } from '../../admin/service.ts';
import type { AppError } from '../../errors.ts';
import { escapeHtml } from '../../html.ts';
import { clientInfo, type App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { csrfInput, date, field, hidden } from './layout.ts';
import { formField, queryField, refusal, type SignedIn } from './page-request.ts';
import { ENROL_NOTICE, mustEnrol, type StepUp } from './step-up.ts';

/** A refusal shown beside the user it concerns. */
interface RowProblem {
  userId: string;
  message: string;
  status: number;
}

export function adminPages(app: App, kit: PageKit, stepUp: StepUp): void {
  const { ctx, pages } = kit;

  /** The admin, or null once the answer (a redirect to sign in, or the 403 page) is sent. */
  async function adminOr(request: FastifyRequest, reply: FastifyReply): Promise<SignedIn | null> {
    const viewer = await pages.viewer(request);
    if (!viewer) {
      reply.header('cache-control', 'no-store').redirect('/login?redirect_to=%2Fadmin', 303);
      return null;
    }
    if (viewer.user.role !== 'admin') {
      await kit.show(request, reply, viewer, { title: 'Not allowed', status: 403, body: () => '<p>This page is for administrators. <a href="/account">Back to your account</a></p>' });
      return null;
    }
    if (await mustEnrol(ctx, viewer)) {
      await kit.show(request, reply, viewer, { title: 'Not allowed yet', status: 403, body: () => `<p class="form-error" role="alert">${escapeHtml(ENROL_NOTICE)}</p><p><a href="/account#mfa">Add an authenticator app</a></p>` });
      return null;
    }
    return viewer;
  }

  async function adminPage(request: FastifyRequest, reply: FastifyReply, viewer: SignedIn, q: string, cursor: string, problem?: RowProblem) {
    let page;
    let searchError: string | undefined;
    try {
      page = await listUsers(ctx, { q: q || undefined, limit: 50, cursor: cursor || undefined });
    } catch (err) {
      // Only a hand-edited cursor gets here: start from the first page again.
      if (!refusal(err, reply)) throw err;
      searchError = 'That page of results does not exist; showing the first.';
      page = await listUsers(ctx, { q: q || undefined, limit: 50 });
    }
    const roleOptions = (current: string) =>
      ctx.config.roles.map((r) => `<option value="${escapeHtml(r)}"${r === current ? ' selected' : ''}>${escapeHtml(r)}</option>`).join('');
    const back = (csrf: string) => `${csrfInput(csrf)}${hidden('q', q)}`;
    const body = (csrf: string) => `
<form method="get" action="/admin" class="search" role="search">
${field({ name: 'q', label: 'Search by name or email', type: 'search', value: q, error: searchError, maxlength: 200 })}
<button type="submit">Search</button></form>
<ul class="rows users">${page.users
      .map((u) => {
        const rowError = problem?.userId === u.id ? problem.message : undefined;
        const errorId = `user-${u.id}-error`;
        const described = rowError ? ` aria-describedby="${errorId}"` : '';
        return `<li${rowError ? ' class="invalid"' : ''}><div><strong>${escapeHtml(u.name)}</strong> ${u.disabledAt !== null ? '<span class="tag warn">disabled</span>' : ''}<br>
<small>${escapeHtml(u.email)} · ${u.emailVerifiedAt === null ? 'not confirmed' : 'confirmed'} · joined ${date(u.createdAt)} · last sign-in ${date(u.lastLoginAt)}</small>
${rowError ? `<p class="field-error" id="${errorId}" role="alert">${escapeHtml(rowError)}</p>` : ''}</div>
<div class="actions">
<form method="post" action="/admin/users/role" class="inline">${back(csrf)}${hidden('id', u.id)}
<label for="role-${u.id}">Role</label> <select id="role-${u.id}" name="role"${rowError ? ' aria-invalid="true"' : ''}${described}>${roleOptions(u.role)}</select>
<button type="submit" class="secondary">Change role</button></form>
<form method="post" action="/admin/users/disable" class="inline">${back(csrf)}${hidden('id', u.id)}${hidden('disabled', u.disabledAt === null ? 'true' : 'false')}
<button type="submit" class="secondary"${described}>${u.disabledAt === null ? 'Disable' : 'Enable'}</button></form>
<form method="post" action="/admin/users/delete" class="inline">${back(csrf)}${hidden('id', u.id)}
<button type="submit" class="danger" data-confirm="Delete ${escapeHtml(u.email)}? This cannot be undone."${described}>Delete</button></form>
</div></li>`;
      })
      .join('')}</ul>
${page.users.length === 0 ? '<p>No users match.</p>' : ''}
${page.nextCursor ? `<p><a href="/admin?q=${encodeURIComponent(q)}&amp;cursor=${encodeURIComponent(page.nextCursor)}">Next page</a></p>` : ''}`;
    return kit.show(request, reply, viewer, { title: 'Users', status: problem?.status, body });
  }

  // 403: signed in, but not an admin.
  app.get('/admin', { schema: shows([403], { q: f.text('Search by name or e-mail', 200), cursor: f.text('The next page, as its link gave it', 200) }, true) }, async (request, reply) => {
    const viewer = await adminOr(request, reply);
    return viewer ? adminPage(request, reply, viewer, queryField(request, 'q', 200), queryField(request, 'cursor', 200)) : reply;
  });

  function action(path: string, run: (request: FastifyRequest, viewer: SignedIn, id: string) => Promise<string>) {
    // Each button's form: the user's id, the search to come back to, and the change.
    const fields = { id: f.id, q: f.text('The search to return to', 200), ...(path === '/admin/users/role' ? { role: f.text('The new role', 32) } : {}), ...(path === '/admin/users/disable' ? { disabled: f.text('"true" to disable, "false" to enable', 5) } : {}) };
    // 403 form expired (CSRF), not an admin, or a recent sign-in is needed; 404 no such user; 409 the last admin.
    app.post(path, { schema: posts(form(fields, ['q']), [403, 404, 409]) }, async (request, reply) => {
      pages.checkCsrf(request);
      const viewer = await adminOr(request, reply);
      if (!viewer) return reply;
      const id = formField(request.body, 'id', 64);
      const q = formField(request.body, 'q', 200);
      try {
        await stepUp.assertRecent(viewer);
        const done = await run(request, viewer, id);
        return pages.redirect(reply, q ? `/admin?q=${encodeURIComponent(q)}` : '/admin', { kind: 'ok', text: done });
      } catch (err) {
        if (stepUp.isNeeded(err)) return stepUp.confirm(request, reply, viewer, '/admin');
        const shown = refusal(err, reply);
        if (!shown) throw err;
        const detail = (err as AppError).details?.[0]?.message;
        return adminPage(request, reply, viewer, q, '', { userId: id, status: shown.status, message: detail ?? shown.message });
      }
    });
  }

  const actor = (request: FastifyRequest, viewer: SignedIn) => ({ userId: viewer.user.id, client: clientInfo(request) });

  action('/admin/users/role', async (request, viewer, id) => {
    const user = await patchUser(ctx, id, { role: formField(request.body, 'role', 32) }, actor(request, viewer));
    return `${user.email} is now ${user.role}.`;
  });

  action('/admin/users/disable', async (request, viewer, id) => {
    const patch: AdminPatch = { disabled: formField(request.body, 'disabled', 5) !== 'false' };
    const user = await patchUser(ctx, id, patch, actor(request, viewer));
    return `${user.email} is ${user.disabledAt === null ? 'enabled' : 'disabled; their sessions are signed out'}.`;
  });

  action('/admin/users/delete', async (request, viewer, id) => {
    await deleteUser(ctx, id, actor(request, viewer));
    return 'The user is deleted.';
  });
}
