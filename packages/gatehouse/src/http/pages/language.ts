// The language switch at the foot of every page: a plain form, so it works without JavaScript. It is
// remembered on this browser (a cookie) and, for a signed-in user, as their preference, which e-mails follow.
import { Type } from 'typebox';
import { AppError } from '../../errors.ts';
import { updateProfile } from '../../users/service.ts';
import { isLocale, LOCALES, translator } from '../../i18n/index.ts';
import type { App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { form, formFields as f, posts } from './page-answers.ts';
import { formField } from './page-request.ts';

/** Back to the page the switch was on: a path on this server only (never `//host` or `/\host`), else /account. */
export function sameSitePath(raw: string): string {
  return /^\/(?![/\\])[^\s\\]*$/.test(raw) && raw.length <= 2048 ? raw : '/account';
}

/**
 * Where the switch on a page brings the browser back to. A page answering a GET comes back as it is; a page
 * answering a form's POST (an error shown on the form) comes back to the page that has that form, since most
 * POST paths (/account/password, /login/magic-link, …) have no GET of their own.
 */
export function switchReturn(method: string, url: string): string {
  if (method === 'GET' || method === 'HEAD') return url.slice(0, 2048);
  const path = url.split('?')[0]!;
  const interaction = /^(\/oauth2\/interaction\/[A-Za-z0-9_-]{1,64})(\/|$)/.exec(path);
  if (interaction) return interaction[1]!;
  if (path === '/account' || path.startsWith('/account/')) return '/account';
  if (path.startsWith('/admin/clients/page')) return '/admin/clients/page';
  if (path === '/admin' || path.startsWith('/admin/')) return '/admin';
  if (path.startsWith('/login/') || path === '/logout' || path === '/verify-email/resend') return '/login';
  if (path === '/language') return '/account';
  return path;
}

export function languagePages(app: App, kit: PageKit): void {
  const { ctx, pages } = kit;

  app.post(
    '/language',
    { schema: posts(form({ lang: Type.String({ enum: [...LOCALES], description: 'The language to show pages in' }), return_to: f.text('The page to come back to (a path on this server)', 2048) }, ['return_to']), [400, 403]) },
    async (request, reply) => {
      pages.checkCsrf(request);
      const lang = formField(request.body, 'lang', 10);
      if (!isLocale(lang)) throw new AppError('validation_failed', { details: [{ field: 'lang', message: `Choose one of ${LOCALES.join(', ')}` }] });
      const viewer = await pages.viewer(request);
      if (viewer && viewer.user.locale !== lang) await updateProfile(ctx, viewer.user.id, { locale: lang });
      pages.rememberLocale(reply, lang);
      return pages.redirect(reply, sameSitePath(formField(request.body, 'return_to', 2048)), { kind: 'ok', text: translator(lang)('page.languageChanged') });
    },
  );
}
