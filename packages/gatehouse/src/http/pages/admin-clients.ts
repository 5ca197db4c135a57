// /admin/clients/page: the OpenID provider's applications for admins (the page beside the /admin/clients API):
// list them, register one (its secret shown once, in the flash), give one a new secret, delete one. Every change
// carries the form's CSRF token, needs a sign-in within REAUTH_MAX_AGE ("Confirm it's you" otherwise, as the
// other admin actions) and is audited as the API's are (oidc_client_created / _updated / _deleted). Only with
// the provider on (OIDC_PROVIDER); the same service calls as the API and the CLI (oidc/clients.ts).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordEvent } from '../../audit/service.ts';
import type { AuditType } from '../../audit/store.ts';
import { AppError, validationError } from '../../errors.ts';
import { escapeHtml } from '../../html.ts';
import type { MessageKey, Translator } from '../../i18n/index.ts';
import { clientDepsOf, createClient, deleteClient, rotateClientSecret, toPublicClient, type ClientDeps, type ClientGrant } from '../../oidc/clients.ts';
import { clientInfo, type App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { csrfInput, date, errorsByField, field, formError, hidden } from './layout.ts';
import { markup, tHtml } from './markup.ts';
import { formField, refusal, type SignedIn } from './page-request.ts';
import { adminGate } from './admin.ts';
import type { StepUp } from './step-up.ts';

export const CLIENTS_PAGE = '/admin/clients/page';
/** Where "Confirm it's you" returns after a stale session's action (a return the step-up page accepts). */
const STEP_UP_RETURN = '/admin/clients/page';
/** At most this many URIs (or scopes) in one field, as the API's schema allows. */
const MAX_ENTRIES = 20;
const MAX_SCOPES = 50;

const CREATE_FORM = form(
  {
    name: f.text('The application\'s name, shown on the consent page: 1 to 100 characters', 1000),
    redirectUris: f.text('Redirect URIs, separated by spaces', 8192),
    postLogoutRedirectUris: f.text('Post-logout redirect URIs, separated by spaces', 8192),
    backchannelLogoutUri: f.text('The back-channel logout URI', 2048),
    resources: f.text('The resource indicators (APIs) it may ask tokens for, separated by spaces', 8192),
    scopes: f.text('The API scopes it may ask for, separated by spaces', 4096),
    public: f.text('"1": a public client (no secret, PKCE only)', 5),
    firstParty: f.text('"1": first-party (no consent page)', 5),
    service: f.text('"1": may use the client_credentials grant', 5),
  },
  ['redirectUris', 'postLogoutRedirectUris', 'backchannelLogoutUri', 'resources', 'scopes', 'public', 'firstParty', 'service'],
);
const ROW_FORM = form({ id: f.text('The client id of the row the button belongs to', 64) });

/** The form came back: what was typed and what is wrong. */
interface CreateProblem {
  status: number;
  values: Record<string, string>;
  errors: Record<string, string>;
  message?: string;
}

/** A refusal shown beside the application it concerns. */
interface RowProblem {
  clientId: string;
  status: number;
  message: string;
}

/** A field's space- (or line-) separated entries, at most `max`. */
function entries(t: Translator, field: string, raw: string, max: number): string[] {
  const list = raw.split(/\s+/).filter(Boolean);
  if (list.length > max) throw validationError([{ field, message: t('adminClients.errors.tooMany', { max }) }]);
  return list;
}

export function adminClientPages(app: App, kit: PageKit, stepUp: StepUp): void {
  const { ctx, pages } = kit;
  if (!ctx.config.oidcProvider) return;
  // Set when the provider's routes are mounted (routes/oidc-clients.ts), after the pages: read per request.
  const store = (): ClientDeps => {
    const deps = clientDepsOf.get(ctx);
    if (!deps) throw new AppError('not_found');
    return deps;
  };

  const adminOr = adminGate(kit);

  const audit = (request: FastifyRequest, viewer: SignedIn, type: AuditType, clientId: string, change?: string) =>
    recordEvent(ctx, type, { userId: viewer.user.id, sessionId: viewer.session.id, client: clientInfo(request), detail: { clientId, via: 'admin_page', ...(change ? { change } : {}) } });

  async function clientsPage(request: FastifyRequest, reply: FastifyReply, viewer: SignedIn, problem?: RowProblem, create?: CreateProblem) {
    const t = kit.t(request);
    const h = (key: MessageKey) => escapeHtml(t(key));
    const list = (await store().clients.list()).map(toPublicClient);
    const none = t('adminClients.noneListed');
    const values = create?.values ?? {};
    const checkbox = (name: string, key: MessageKey) =>
      `<div class="field"><input type="checkbox" id="new-${name}" name="${name}" value="1"${values[name] === '1' ? ' checked' : ''}> <label for="new-${name}">${h(key)}</label></div>`;
    const input = (name: string, key: MessageKey, hint?: MessageKey, maxlength = 8192) =>
      field({ name, idPrefix: 'new-', label: t(key), hint: hint ? t(hint) : undefined, value: values[name], error: create?.errors[name], maxlength, autocomplete: 'off', plain: name !== 'name' });
    const body = (csrf: string) => `
<p><a href="/admin">${h('admin.backToUsers')}</a> · <a href="/admin/audit-log">${h('admin.auditLink')}</a></p>
<p>${h('adminClients.intro')}</p>
${problem && !list.some((c) => c.clientId === problem.clientId) ? formError(problem.message) : ''}
${list.length === 0 ? `<p>${h('adminClients.none')}</p>` : `<ul class="rows clients">${list
      .map((c) => {
        const rowError = problem?.clientId === c.clientId ? problem.message : undefined;
        const errorId = `client-${c.clientId}-error`;
        const described = rowError ? ` aria-describedby="${errorId}"` : '';
        return `<li${rowError ? ' class="invalid"' : ''}><div><strong>${escapeHtml(c.name)}</strong> <span class="tag">${h(c.public ? 'adminClients.tag.public' : 'adminClients.tag.confidential')}</span>${c.firstParty ? ` <span class="tag">${h('adminClients.tag.firstParty')}</span>` : ''}<br>
<small>${tHtml(t, 'adminClients.details', { clientId: markup(`<code>${escapeHtml(c.clientId)}</code>`), created: markup(date(t, c.createdAt)) })}</small><br>
<small>${tHtml(t, 'adminClients.redirects', { uris: c.redirectUris.join(' ') || none })} · ${tHtml(t, 'adminClients.grants', { grants: c.grantTypes.join(' ') })}</small><br>
<small>${tHtml(t, 'adminClients.apis', { resources: c.resources.join(' ') || none, scopes: c.scopes.join(' ') || none })}</small>
${rowError ? `<p class="field-error" id="${errorId}" role="alert">${escapeHtml(rowError)}</p>` : ''}</div>
<div class="actions">
${c.public ? '' : `<form method="post" action="${CLIENTS_PAGE}/rotate-secret" class="inline">${csrfInput(csrf)}${hidden('id', c.clientId)}
<button type="submit" class="secondary" aria-label="${escapeHtml(t('adminClients.rotateLabel', { name: c.name }))}" data-confirm="${escapeHtml(t('adminClients.rotateConfirm', { name: c.name }))}"${described}>${h('adminClients.rotate')}</button></form>`}
<form method="post" action="${CLIENTS_PAGE}/delete" class="inline">${csrfInput(csrf)}${hidden('id', c.clientId)}
<button type="submit" class="danger" aria-label="${escapeHtml(t('adminClients.deleteLabel', { name: c.name }))}" data-confirm="${escapeHtml(t('adminClients.deleteConfirm', { name: c.name }))}"${described}>${h('adminClients.delete')}</button></form>
</div></li>`;
      })
      .join('')}</ul>`}

<section aria-labelledby="new-client-h" id="new-client"><h2 id="new-client-h">${h('adminClients.new.heading')}</h2>
${formError(create?.message)}
<form method="post" action="${CLIENTS_PAGE}/create" novalidate>${csrfInput(csrf)}
${input('name', 'adminClients.new.name', undefined, 100)}
${input('redirectUris', 'adminClients.new.redirectUris', 'adminClients.new.redirectUrisHint')}
${input('postLogoutRedirectUris', 'adminClients.new.postLogout', 'adminClients.new.postLogoutHint')}
${input('backchannelLogoutUri', 'adminClients.new.backchannel', 'adminClients.new.backchannelHint', 2048)}
${input('resources', 'adminClients.new.resources', 'adminClients.new.resourcesHint')}
${input('scopes', 'adminClients.new.scopes', 'adminClients.new.scopesHint', 4096)}
${checkbox('public', 'adminClients.new.public')}
${checkbox('firstParty', 'adminClients.new.firstParty')}
${checkbox('service', 'adminClients.new.service')}
<button type="submit">${h('adminClients.new.submit')}</button></form></section>`;
    return kit.show(request, reply, viewer, { title: t('adminClients.title'), status: problem?.status ?? create?.status, body });
  }

  // 403: signed in, but not an admin (or one who must add a second factor first).
  app.get(CLIENTS_PAGE, { schema: shows([403], undefined, true) }, async (request, reply) => {
    const viewer = await adminOr(request, reply);
    return viewer ? clientsPage(request, reply, viewer) : reply;
  });

  // 400 a field is wrong (beside it); 403 form expired, not an admin or a recent sign-in is needed.
  app.post(`${CLIENTS_PAGE}/create`, { schema: posts(CREATE_FORM, [400, 403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const viewer = await adminOr(request, reply);
    if (!viewer) return reply;
    const t = kit.t(request);
    const read = (name: string, max: number) => formField(request.body, name, max);
    const values = {
      name: read('name', 1000),
      redirectUris: read('redirectUris', 8192),
      postLogoutRedirectUris: read('postLogoutRedirectUris', 8192),
      backchannelLogoutUri: read('backchannelLogoutUri', 2048),
      resources: read('resources', 8192),
      scopes: read('scopes', 4096),
      public: read('public', 5),
      firstParty: read('firstParty', 5),
      service: read('service', 5),
    };
    try {
      await stepUp.assertRecent(viewer);
      const grants: ClientGrant[] = values.service === '1' ? ['client_credentials'] : [];
      const { client, secret } = await createClient(store(), {
        name: values.name,
        redirectUris: entries(t, 'redirectUris', values.redirectUris, MAX_ENTRIES),
        postLogoutRedirectUris: entries(t, 'postLogoutRedirectUris', values.postLogoutRedirectUris, MAX_ENTRIES),
        public: values.public === '1',
        firstParty: values.firstParty === '1',
        grants,
        backchannelLogoutUri: values.backchannelLogoutUri.trim() || null,
        resources: entries(t, 'resources', values.resources, MAX_SCOPES),
        scopes: entries(t, 'scopes', values.scopes, MAX_SCOPES),
      });
      await audit(request, viewer, 'oidc_client_created', client.clientId);
      const text = secret
        ? t('adminClients.flash.created', { name: client.name, clientId: client.clientId })
        : t('adminClients.flash.createdPublic', { name: client.name, clientId: client.clientId });
      return pages.redirect(reply, CLIENTS_PAGE, { kind: 'ok', text, ...(secret ? { secret } : {}) });
    } catch (err) {
      if (stepUp.isNeeded(err)) return stepUp.confirm(request, reply, viewer, STEP_UP_RETURN);
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      const errors = errorsByField(t, (err as AppError).details, { grants: 'service' });
      return clientsPage(request, reply, viewer, undefined, { status: shown.status, values, errors, message: Object.keys(errors).length ? undefined : shown.message });
    }
  });

  /** A row's button: the client's id, then the change; 404 when it is gone. */
  function rowAction(path: string, run: (request: FastifyRequest, viewer: SignedIn, clientId: string, t: Translator) => Promise<{ text: string; secret?: string }>) {
    // 403 form expired, not an admin or a recent sign-in is needed; 404 no such application.
    app.post(path, { schema: posts(ROW_FORM, [400, 403, 404]) }, async (request, reply) => {
      pages.checkCsrf(request);
      const viewer = await adminOr(request, reply);
      if (!viewer) return reply;
      const t = kit.t(request);
      const clientId = formField(request.body, 'id', 64);
      try {
        await stepUp.assertRecent(viewer);
        if (!clientId) throw new AppError('not_found', { message: 'Client not found' });
        const done = await run(request, viewer, clientId, t);
        return pages.redirect(reply, CLIENTS_PAGE, { kind: 'ok', ...done });
      } catch (err) {
        if (stepUp.isNeeded(err)) return stepUp.confirm(request, reply, viewer, STEP_UP_RETURN);
        const shown = refusal(err, reply, t);
        if (!shown) throw err;
        const message = err instanceof AppError && err.code === 'not_found' ? t('adminClients.notFound') : shown.message;
        return clientsPage(request, reply, viewer, { clientId, status: shown.status, message });
      }
    });
  }

  rowAction(`${CLIENTS_PAGE}/rotate-secret`, async (request, viewer, clientId, t) => {
    const { client, secret } = await rotateClientSecret(store(), clientId);
    await audit(request, viewer, 'oidc_client_updated', client.clientId, 'secret_rotated');
    return { text: t('adminClients.flash.rotated', { name: client.name }), secret };
  });

  rowAction(`${CLIENTS_PAGE}/delete`, async (request, viewer, clientId, t) => {
    const client = await store().clients.find(clientId);
    if (!client) throw new AppError('not_found', { message: 'Client not found' });
    await deleteClient(store(), clientId);
    await audit(request, viewer, 'oidc_client_deleted', clientId);
    return { text: t('adminClients.flash.deleted', { name: client.name }) };
  });
}
