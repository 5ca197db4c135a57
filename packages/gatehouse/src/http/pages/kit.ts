// What the page modules share: the context, the request helpers and one way to answer with a page.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../../context.ts';
import { render, type Flash } from './layout.ts';
import { escapeHtml } from '../../html.ts';
import { translator, type Translator } from '../../i18n/index.ts';
import { switchReturn } from './language.ts';
import { isOidcInteraction, type PageRequests, type SignedIn } from './page-request.ts';

export interface PageView {
  title: string;
  /** Built with this browser's CSRF token, which every form carries. */
  body: (csrf: string) => string;
  status?: number;
  /** A message to show now, besides any left by the previous request. */
  flash?: Flash | null;
  /** Same-origin scripts this page needs besides gatehouse.js (the passkey pages'). */
  scripts?: readonly string[];
  /** Go on to this address at once with a meta refresh (see continueTo). */
  refreshTo?: string;
}

export interface PageKit {
  ctx: Context;
  pages: PageRequests;
  /** The page's language for this request (call after pages.viewer() so a signed-in user's preference counts). */
  t(request: FastifyRequest): Translator;
  show(request: FastifyRequest, reply: FastifyReply, viewer: SignedIn | null, view: PageView): Promise<FastifyReply>;
  /**
   * After a successful sign-in POST: 303 to `to`, except to an OpenID interaction, which redirects on to the
   * application (another origin). Chromium applies the CSP's form-action to every redirect after a form POST,
   * so that last hop would be blocked: the answer is a 200 page that goes on with a meta refresh (a new
   * navigation, not part of the form submission) and a link, and the CSP stays form-action 'self'.
   */
  continueTo(request: FastifyRequest, reply: FastifyReply, to: string, flash?: Flash): Promise<FastifyReply>;
}

export function createKit(ctx: Context, pages: PageRequests, assetVersion: string): PageKit {
  return {
    ctx,
    pages,
    t: (request) => translator(pages.locale(request)),
    async show(request, reply, viewer, view) {
      const csrf = pages.csrfToken(request, reply);
      const flash = view.flash ?? (await pages.takeFlash(request, reply));
      return render(reply, ctx.config, assetVersion, {
        t: translator(pages.locale(request)),
        path: switchReturn(request.method, request.url),
        title: view.title,
        body: view.body(csrf),
        status: view.status,
        flash,
        csrfToken: csrf,
        viewer: viewer ? { name: viewer.user.name, role: viewer.user.role } : null,
        scripts: view.scripts,
        refreshTo: view.refreshTo,
      });
    },
    async continueTo(request, reply, to, flash) {
      if (!isOidcInteraction(to)) return pages.redirect(reply, to, flash);
      const t = this.t(request);
      return this.show(request, reply, null, {
        title: t('kit.signedIn'),
        flash: null,
        refreshTo: to,
        body: () => `<p>${escapeHtml(t('kit.continuingToApp'))}</p>\n<p><a href="${escapeHtml(to)}">${escapeHtml(t('kit.continue'))}</a></p>`,
      });
    },
  };
}
