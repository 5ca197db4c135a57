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
import { clientInfo, type App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { csrfInput, date, errorsByField, field, formError, hidden } from './layout.ts';
import { formField, queryField, refusal, type SignedIn } from './page-request.ts';
import { ENROL_NOTICE, mustEnrol, type StepUp } from './step-up.ts';

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

  async function adminPage(request: FastifyRequest, reply: FastifyReply, viewer: SignedIn, filter: Filter, cursor: string, problem?: RowProblem, invite?: InviteProblem) {
    const { q } = filter;
    const disabled = filter.disabled ? true : undefined;
    let page;
    let searchError: string | undefined;
    try {
      page = await listUsers(ctx, { q: q || undefined, limit: 50, cursor: cursor || undefined, disabled });
    } catch (err) {
      // Only a hand-edited cursor gets here: start from the first page again.
      if (!refusal(err, reply)) throw err;
      searchError = 'That page of results does not exist; showing the first.';
      page = await listUsers(ctx, { q: q || undefined, limit: 50, disabled });
    }
    const roleOptions = (current: string) =>
      ctx.config.roles.map((r) => `<option value="${escapeHtml(r)}"${r === current ? ' selected' : ''}>${escapeHtml(r)}</option>`).join('');
    const back = (csrf: string) => `${csrfInput(csrf)}${hidden('q', q)}${filter.disabled ? hidden('disabled', '1') : ''}`;
    const inviteRole = invite?.values.role ?? 'user';
    const body = (csrf: string) => `
<p><a href="/admin/audit-log">Audit log</a></p>
<form method="get" action="/admin" class="search" role="search">
${field({ name: 'q', label: 'Search by name or email', type: 'search', value: q, error: searchError, maxlength: 200 })}
<div class="field"><input type="checkbox" id="disabled" name="disabled" value="1"${filter.disabled ? ' checked' : ''}> <label for="disabled">Only disabled users</label></div>
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
<form method="post" action="/admin/users/sign-out" class="inline">${back(csrf)}${hidden('id', u.id)}
<button type="submit" class="secondary" aria-label="Sign out ${escapeHtml(u.email)} everywhere"${described}>Sign out everywhere</button></form>
<a href="/admin/users/sessions?id=${u.id}" aria-label="Sessions of ${escapeHtml(u.email)}">Sessions</a>
${u.emailVerifiedAt === null ? `<form method="post" action="/admin/users/resend-verification" class="inline">${back(csrf)}${hidden('id', u.id)}
<button type="submit" class="secondary"${described}>Resend verification</button></form>` : ''}
<form method="post" action="/admin/users/delete" class="inline">${back(csrf)}${hidden('id', u.id)}
<button type="submit" class="danger" data-confirm="Delete ${escapeHtml(u.email)}? This cannot be undone."${described}>Delete</button></form>
</div></li>`;
      })
      .join('')}</ul>
${page.users.length === 0 ? '<p>No users match.</p>' : ''}
${page.nextCursor ? `<p><a href="/admin?q=${encodeURIComponent(q)}${filter.disabled ? '&amp;disabled=1' : ''}&amp;cursor=${encodeURIComponent(page.nextCursor)}">Next page</a></p>` : ''}

<section aria-labelledby="invite-h" id="invite"><h2 id="invite-h">Invite a user</h2>
${formError(invite?.message)}
<form method="post" action="/admin/invite" novalidate>${csrfInput(csrf)}
${field({ name: 'email', idPrefix: 'invite-', label: 'Email', type: 'email', value: invite?.values.email, error: invite?.errors.email, autocomplete: 'off', required: true, maxlength: 320 })}
${field({ name: 'name', idPrefix: 'invite-', label: 'Name', value: invite?.values.name, error: invite?.errors.name, autocomplete: 'off', maxlength: 100 })}
<div class="field${invite?.errors.role ? ' invalid' : ''}"><label for="invite-role">Role</label> <select id="invite-role" name="role"${invite?.errors.role ? ' aria-invalid="true" aria-describedby="invite-role-error"' : ''}>${roleOptions(inviteRole)}</select>
${invite?.errors.role ? `<p class="field-error" id="invite-role-error">${escapeHtml(invite.errors.role)}</p>` : ''}</div>
<button type="submit">Send the invitation</button></form></section>`;
    return kit.show(request, reply, viewer, { title: 'Users', status: problem?.status ?? invite?.status, body });
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

  function action(path: string, run: (request: FastifyRequest, viewer: SignedIn, id: string) => Promise<string>) {
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
      const id = formField(request.body, 'id', 64);
      // The disable form's own "disabled" field is the change, not the list's filter.
      const filter: Filter = { q: formField(request.body, 'q', 200), disabled: path !== '/admin/users/disable' && formField(request.body, 'disabled', 5) === '1' };
      try {
        await stepUp.assertRecent(viewer);
        const done = await run(request, viewer, id);
        return pages.redirect(reply, listUrl(filter), { kind: 'ok', text: done });
      } catch (err) {
        if (stepUp.isNeeded(err)) return stepUp.confirm(request, reply, viewer, '/admin');
        const shown = refusal(err, reply);
        if (!shown) throw err;
        const detail = (err as AppError).details?.[0]?.message;
        return adminPage(request, reply, viewer, filter, '', { userId: id, status: shown.status, message: detail ?? shown.message });
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

  action('/admin/users/sign-out', async (request, viewer, id) => {
    const user = await getUserById(ctx, id);
    const ended = await signOutUser(ctx, user, actor(request, viewer));
    return `${user.email} is signed out everywhere (${ended} session${ended === 1 ? '' : 's'} ended).`;
  });

  // 409: the address is already verified.
  action('/admin/users/resend-verification', async (request, viewer, id) => {
    const user = await getUserById(ctx, id);
    await resendVerificationFor(ctx, user, actor(request, viewer));
    return `A new verification link is on its way to ${user.email}.`;
  });

  // 400 an invalid address, name or role (beside the field); 403 form expired, not an admin or a recent sign-in
  // is needed; 409 the address has an account.
  app.post('/admin/invite', { schema: posts(INVITE_FORM, [400, 403, 409]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const viewer = await adminOr(request, reply);
    if (!viewer) return reply;
    const values = { email: formField(request.body, 'email', 1000), name: formField(request.body, 'name', 1000), role: formField(request.body, 'role', 32) };
    try {
      await stepUp.assertRecent(viewer);
      const user = await inviteUser(ctx, { email: values.email, name: values.name.trim() ? values.name : undefined, role: values.role || undefined }, actor(request, viewer));
      return pages.redirect(reply, '/admin', { kind: 'ok', text: `${user.email} is invited: we e-mailed them a link to choose a password.` });
    } catch (err) {
      if (stepUp.isNeeded(err)) return stepUp.confirm(request, reply, viewer, '/admin');
      const shown = refusal(err, reply);
      if (!shown) throw err;
      const errors = errorsByField((err as AppError).details);
      if (err instanceof AppError && err.code === 'email_taken') errors.email = shown.message;
      return adminPage(request, reply, viewer, { q: '', disabled: false }, '', undefined, { status: shown.status, values, errors, message: Object.keys(errors).length ? undefined : shown.message });
    }
  });

  /** One user's live sessions, each with a button that ends it. */
  async function sessionsPage(request: FastifyRequest, reply: FastifyReply, viewer: SignedIn, id: string, problem?: { status: number; message: string }) {
    let user;
    try {
      user = await getUserById(ctx, id);
    } catch (err) {
      const shown = refusal(err, reply);
      if (!shown) throw err;
      return kit.show(request, reply, viewer, { title: 'Sessions', status: shown.status, body: () => `${formError(shown.message)}<p><a href="/admin">Back to users</a></p>` });
    }
    const sessions = await listUserSessions(ctx, user);
    const body = (csrf: string) => `
<p>${escapeHtml(user.name)} · ${escapeHtml(user.email)} · <a href="/admin/audit-log?user=${user.id}">Audit log</a> · <a href="/admin">Back to users</a></p>
${formError(problem?.message)}
${sessions.length === 0 ? '<p>No live sessions.</p>' : `<ul class="rows sessions">${sessions
      .map(
        (s) => `<li><div><strong>${escapeHtml(s.userAgent ?? 'Unknown device')}</strong><br>
<small>${escapeHtml(s.ip ?? '')} · signed in ${date(s.createdAt)} · last used ${date(s.lastUsedAt)}</small></div>
<form method="post" action="/admin/users/sessions/end">${csrfInput(csrf)}${hidden('id', user.id)}${hidden('session', s.id)}<button type="submit" class="secondary" aria-label="End this session (${escapeHtml(s.userAgent ?? 'unknown device')})">End this session</button></form></li>`,
      )
      .join('')}</ul>`}`;
    return kit.show(request, reply, viewer, { title: `Sessions of ${user.name}`, status: problem?.status, body });
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
    const id = formField(request.body, 'id', 64);
    try {
      await stepUp.assertRecent(viewer);
      const user = await getUserById(ctx, id);
      await endUserSession(ctx, user, formField(request.body, 'session', 64), actor(request, viewer));
      return pages.redirect(reply, `/admin/users/sessions?id=${encodeURIComponent(user.id)}`, { kind: 'ok', text: 'That session is ended.' });
    } catch (err) {
      if (stepUp.isNeeded(err)) return stepUp.confirm(request, reply, viewer, '/admin');
      const shown = refusal(err, reply);
      if (!shown) throw err;
      return sessionsPage(request, reply, viewer, id, shown);
    }
  });

  auditPages(app, kit, adminOr);
}
