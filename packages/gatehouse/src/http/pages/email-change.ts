// The pages the e-mail change's links open: the confirmation sent to the new address, and "this wasn't me" sent
// to the old one. Opening a link changes nothing (mail scanners open links too); the button's POST does.
import { confirmEmailChange, revertEmailChange } from '../../users/email-change.ts';
import { clearAuthCookies } from '../cookies.ts';
import { clientInfo, type App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { csrfInput, formError, hidden } from './layout.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { formField, queryField, refusal } from './page-request.ts';
import { escapeHtml } from '../../html.ts';
import type { Translator } from '../../i18n/index.ts';

export function emailChangePages(app: App, kit: PageKit): void {
  const { ctx, pages } = kit;
  const button = (action: string, label: string, csrf: string, token: string) =>
    `<form method="post" action="${action}">${csrfInput(csrf)}${hidden('token', token)}<button type="submit">${escapeHtml(label)}</button></form>`;
  const failed = (t: Translator, message: string) => () => `${formError(message)}<p><a href="/account">${escapeHtml(t('emailChange.goToAccount'))}</a></p>`;

  app.get('/email-change', { schema: shows([], { token: f.token }) }, async (request, reply) => {
    const token = queryField(request, 'token', 200);
    reply.header('referrer-policy', 'no-referrer');
    const t = kit.t(request);
    return kit.show(request, reply, null, {
      title: t('emailChange.confirmTitle'),
      body: (csrf) => `<p>${escapeHtml(t('emailChange.confirmLead'))}</p>${button('/email-change', t('emailChange.confirmButton'), csrf, token)}`,
    });
  });

  app.post('/email-change', { schema: posts(form({ token: f.token }), [400, 403, 409]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const t = kit.t(request);
    try {
      const user = await confirmEmailChange(ctx, formField(request.body, 'token', 200), clientInfo(request));
      return pages.redirect(reply, '/account', { kind: 'ok', text: t('emailChange.changed', { email: user.email }) });
    } catch (err) {
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      return kit.show(request, reply, null, { title: t('emailChange.notChangedTitle'), status: shown.status, body: failed(t, shown.message) });
    }
  });

  app.get('/email-change/revert', { schema: shows([], { token: f.token }) }, async (request, reply) => {
    const token = queryField(request, 'token', 200);
    reply.header('referrer-policy', 'no-referrer');
    const t = kit.t(request);
    return kit.show(request, reply, null, {
      title: t('emailChange.revertTitle'),
      body: (csrf) => `<p>${escapeHtml(t('emailChange.revertLead'))}</p>${button('/email-change/revert', t('emailChange.revertButton'), csrf, token)}`,
    });
  });

  app.post('/email-change/revert', { schema: posts(form({ token: f.token }), [400, 403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const t = kit.t(request);
    try {
      await revertEmailChange(ctx, formField(request.body, 'token', 200), clientInfo(request), t.locale);
      clearAuthCookies(reply, ctx.config);
      return pages.redirect(reply, '/login', { kind: 'ok', text: t('emailChange.reverted') });
    } catch (err) {
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      return kit.show(request, reply, null, { title: t('emailChange.linkNotValid'), status: shown.status, body: failed(t, shown.message) });
    }
  });
}
