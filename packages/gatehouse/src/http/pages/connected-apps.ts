// "Connected apps" on /account: the apps the user let sign in with Gatehouse, each with a button that takes
// the permission back (the same as DELETE /auth/apps/:clientId). Its own module so account.ts only includes it.
// The section exists when the OpenID provider is mounted (mountOidcProvider registers its stores here).
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { escapeHtml } from '../../html.ts';
import { listConnectedApps, revokeConnectedApp, type ConnectedAppsDeps } from '../../oidc/connected-apps.ts';
import { clientInfo } from '../types.ts';
import { csrfInput, date, hidden } from './layout.ts';
import { form, formFields as f, posts } from './page-answers.ts';
import { formField, type PageRequests } from './page-request.ts';

const sources = new WeakMap<Context, ConnectedAppsDeps>();

/** Called when the provider is mounted: the account page then shows the section. */
export function registerConnectedApps(ctx: Context, deps: ConnectedAppsDeps): void {
  sources.set(ctx, deps);
}

const SCOPE_TEXT: Record<string, string> = {
  openid: 'your account id',
  profile: 'your name',
  email: 'your e-mail address',
  offline_access: 'stay signed in when you are away',
};

/** The section's HTML for one CSRF token, loaded for `userId`; '' when the OpenID provider is off. */
export async function connectedAppsSection(ctx: Context, userId: string): Promise<(csrf: string) => string> {
  const deps = sources.get(ctx);
  if (!deps) return () => '';
  const apps = await listConnectedApps(ctx, deps, userId);
  return (csrf) => `<section aria-labelledby="apps-h" id="apps"><h2 id="apps-h">Connected apps</h2>
${apps.length === 0 ? '<p>No app signs in with your account.</p>' : `<ul class="rows">${apps
    .map(
      (a) => `<li><div><strong>${escapeHtml(a.name)}</strong><br><small>can see ${escapeHtml(a.scopes.map((s) => SCOPE_TEXT[s] ?? s).join(', '))} · allowed ${date(Date.parse(a.grantedAt))}</small></div>
<form method="post" action="/account/apps/revoke">${csrfInput(csrf)}${hidden('clientId', a.clientId)}<button type="submit" class="danger" data-confirm="Revoke ${escapeHtml(a.name)}? It is signed out and must ask again." aria-label="Revoke ${escapeHtml(a.name)}">Revoke</button></form></li>`,
    )
    .join('')}</ul>`}</section>`;
}

/** POST /account/apps/revoke, in a scope that parses forms (oauth2.ts's pages scope). */
export function connectedAppPages(scope: FastifyInstance, ctx: Context, pages: PageRequests, deps: ConnectedAppsDeps): void {
  scope.post('/account/apps/revoke', { schema: posts(form({ clientId: f.id }), [403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const viewer = await pages.viewer(request);
    if (!viewer) return reply.header('cache-control', 'no-store').redirect('/login?redirect_to=%2Faccount', 303);
    try {
      await revokeConnectedApp(ctx, deps, { userId: viewer.user.id, sessionId: viewer.session.id }, formField(request.body, 'clientId', 64), clientInfo(request));
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return pages.redirect(reply, '/account#apps', { kind: 'error', text: 'That app was not connected any more.' });
      throw err;
    }
    return pages.redirect(reply, '/account#apps', { kind: 'ok', text: 'The app is disconnected: it is signed out and must ask you again.' });
  });
}
