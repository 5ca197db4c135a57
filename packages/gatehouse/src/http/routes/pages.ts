// The hosted pages: sign in (with its second step), sign up, recovery, account (with step-up) and admin. Plain HTML forms in session mode, a CSRF
// token in every form, 303 after every successful POST. Forms (x-www-form-urlencoded) are parsed only in
// this scope; the JSON API keeps answering 415 to them.
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../context.ts';
import { escapeHtml } from '../../html.ts';
import { accountPages } from '../pages/account.ts';
import { adminPages } from '../pages/admin.ts';
import { adminClientPages } from '../pages/admin-clients.ts';
import { assetRoutes, loadAssets } from '../pages/assets.ts';
import { createKit, type PageKit } from '../pages/kit.ts';
import { formError, pagePolicy } from '../pages/layout.ts';
import { PageRequests } from '../pages/page-request.ts';
import { languagePages } from '../pages/language.ts';
import { emailChangePages } from '../pages/email-change.ts';
import { recoveryPages } from '../pages/recovery.ts';
import { passkeySignupPages } from '../pages/passkey-signup.ts';
import { signInPages } from '../pages/sign-in.ts';
import { stepUpPages } from '../pages/step-up.ts';
import { toAppError } from '../plugins/error-handler.ts';
import type { Csrf } from '../plugins/csrf.ts';
import { pageSchema } from '../plugins/openapi.ts';
import { SeeOther } from '../pages/page-answers.ts';
import type { App } from '../types.ts';

/**
 * Makes a Fastify scope serve pages: forms parsed (only here), the pages' strict CSP on every answer (no
 * inline style either, unlike helmet's default for /docs). Returns the scope's request helpers and kit.
 */
export function pageScope(scope: FastifyInstance, ctx: Context, csrf: Csrf): { pages: PageRequests; kit: PageKit } {
  const pages = new PageRequests(ctx, csrf);
  const kit = createKit(ctx, pages, loadAssets(ctx.config).version);
  const policy = pagePolicy(ctx.config);
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body.toString())));
  });
  scope.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', policy);
    return payload;
  });
  return { pages, kit };
}

export function pageRoutes(app: App, ctx: Context, csrf: Csrf): void {
  assetRoutes(app, loadAssets(ctx.config));

  app.register(async (scope) => {
    const { pages, kit } = pageScope(scope, ctx, csrf);
    // Failures become pages too: a form that expired, a missing route is not for JSON here.
    scope.setErrorHandler(async (err, request, reply) => {
      const appError = toAppError(err as Error);
      if (appError.status >= 500) request.log.error({ err: appError.cause ?? err }, 'request failed');
      if (appError.retryAfter !== undefined) reply.header('retry-after', String(appError.retryAfter));
      const t = kit.t(request);
      const message = appError.status >= 500 && appError.code !== 'service_unavailable' ? t('page.serverError') : t.server(appError.message);
      const detail = appError.details?.[0] ? t.server(appError.details[0].message) : '';
      // No session lookup here: a refused request must not even slide the session's expiry.
      return kit.show(request, reply, null, {
        title: appError.code === 'csrf_failed' ? t('page.formExpiredTitle') : t('page.errorTitle'),
        status: appError.status,
        body: () => `${formError(detail ? `${message}: ${detail}` : message)}<p><a href="${request.method === 'POST' ? escapeHtml(request.url.split('?')[0]!) : '/account'}">${escapeHtml(t('page.goBack'))}</a></p>`,
      });
    });

    // A browser that opens the server's address lands where it can act: its account, or the sign-in page.
    scope.get('/', { schema: pageSchema({ 303: SeeOther }) }, async (request, reply) => {
      const viewer = await pages.viewer(request);
      return reply.header('cache-control', 'no-store').redirect(viewer ? '/account' : '/login', 303);
    });

    languagePages(scope, kit);
    signInPages(scope, kit);
    passkeySignupPages(scope, kit);
    recoveryPages(scope, kit);
    emailChangePages(scope, kit);
    const stepUp = stepUpPages(scope, kit);
    accountPages(scope, kit, stepUp);
    adminPages(scope, kit, stepUp);
    adminClientPages(scope, kit, stepUp);
  });
}

