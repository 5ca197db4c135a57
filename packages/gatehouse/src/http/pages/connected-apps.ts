// "Connected apps" on /account: the apps the user let sign in with Gatehouse, each with a button that takes
// the permission back (the same as DELETE /auth/apps/:clientId). Its own module so account.ts only includes it.
// The section exists when the OpenID provider is mounted (mountOidcProvider registers its stores here).
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { escapeHtml } from '../../html.ts';
import { translator, type MessageKey, type Translator } from '../../i18n/index.ts';
import { connectedAppsOf, revokeConnectedApp, type ConnectedAppsDeps } from '../../oidc/connected-apps.ts';
import { clientInfo } from '../types.ts';
import { csrfInput, date, hidden } from './layout.ts';
import { markup, tHtml } from './markup.ts';
import { form, formFields as f, posts } from './page-answers.ts';
import { formField, type PageRequests } from './page-request.ts';

const SCOPE_TEXT: Record<string, MessageKey> = {
  openid: 'connectedApps.scope.openid',
  profile: 'connectedApps.scope.profile',
  email: 'connectedApps.scope.email',
  offline_access: 'connectedApps.scope.offline_access',
};

/** The section's HTML for one CSRF token, loaded for `userId`; '' when the OpenID provider is off. */
export async function connectedAppsSection(ctx: Context, t: Translator, userId: string): Promise<(csrf: string) => string> {
  const apps = await connectedAppsOf(ctx, userId);
  if (!apps) return () => '';
  const scope = (s: string) => (SCOPE_TEXT[s] ? t(SCOPE_TEXT[s]) : s);
  return (csrf) => `<section aria-labelledby="apps-h" id="apps"><h2 id="apps-h">${escapeHtml(t('connectedApps.heading'))}</h2>
${apps.length === 0 ? `<p>${escapeHtml(t('connectedApps.none'))}</p>` : `<ul class="rows">${apps
    .map(
      (a) => `<li><div><strong>${escapeHtml(a.name)}</strong><br><small>${tHtml(t, 'connectedApps.details', { scopes: a.scopes.map(scope).join(', '), allowed: markup(date(t, Date.parse(a.grantedAt))) })}</small></div>
<form method="post" action="/account/apps/revoke">${csrfInput(csrf)}${hidden('clientId', a.clientId)}<button type="submit" class="danger" data-confirm="${escapeHtml(t('connectedApps.revokeConfirm', { name: a.name }))}" aria-label="${escapeHtml(t('connectedApps.revokeLabel', { name: a.name }))}">${escapeHtml(t('connectedApps.revoke'))}</button></form></li>`,
    )
    .join('')}</ul>`}</section>`;
}

/** POST /account/apps/revoke, in a scope that parses forms (oauth2.ts's pages scope). */
export function connectedAppPages(scope: FastifyInstance, ctx: Context, pages: PageRequests, deps: ConnectedAppsDeps): void {
  scope.post('/account/apps/revoke', { schema: posts(form({ clientId: f.id }), [403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const viewer = await pages.viewer(request);
    if (!viewer) return reply.header('cache-control', 'no-store').redirect('/login?redirect_to=%2Faccount', 303);
    const t = translator(pages.locale(request));
    try {
      await revokeConnectedApp(ctx, deps, { userId: viewer.user.id, sessionId: viewer.session.id }, formField(request.body, 'clientId', 64), clientInfo(request));
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return pages.redirect(reply, '/account#apps', { kind: 'error', text: t('connectedApps.notConnected') });
      throw err;
    }
    return pages.redirect(reply, '/account#apps', { kind: 'ok', text: t('connectedApps.disconnected') });
  });
}
