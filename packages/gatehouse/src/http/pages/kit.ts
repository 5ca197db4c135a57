// What the page modules share: the context, the request helpers and one way to answer with a page.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../../context.ts';
import { render, type Flash } from './layout.ts';
import type { PageRequests, SignedIn } from './page-request.ts';

export interface PageView {
  title: string;
  /** Built with this browser's CSRF token, which every form carries. */
  body: (csrf: string) => string;
  status?: number;
  /** A message to show now, besides any left by the previous request. */
  flash?: Flash | null;
  /** Same-origin scripts this page needs besides gatehouse.js (the passkey pages'). */
  scripts?: readonly string[];
}

export interface PageKit {
  ctx: Context;
  pages: PageRequests;
  show(request: FastifyRequest, reply: FastifyReply, viewer: SignedIn | null, view: PageView): Promise<FastifyReply>;
}

export function createKit(ctx: Context, pages: PageRequests, assetVersion: string): PageKit {
  return {
    ctx,
    pages,
    async show(request, reply, viewer, view) {
      const csrf = pages.csrfToken(request, reply);
      const flash = view.flash ?? (await pages.takeFlash(request, reply));
      return render(reply, ctx.config, assetVersion, {
        title: view.title,
        body: view.body(csrf),
        status: view.status,
        flash,
        csrfToken: csrf,
        viewer: viewer ? { name: viewer.user.name, role: viewer.user.role } : null,
        scripts: view.scripts,
      });
    },
  };
}
