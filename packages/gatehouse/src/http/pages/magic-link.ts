// Signing in by e-mail on the pages: "e-mail me a link" from /login, the page the link opens (which asks for a
// click: a mail scanner opening the link signs nobody in and uses nothing up), and the code form for when the
// mail is read on another device. An account with a second factor continues to the second step.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestMagicLink, signInWithMagicLink, type MagicProof } from '../../methods/magic-link/service.ts';
import { answerSignIn } from '../sign-in-answer.ts';
import { clientInfo, type App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { csrfInput, field, formError, hidden } from './layout.ts';
import type { MfaStep } from './mfa-sign-in.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { formField, queryField, refusal } from './page-request.ts';
import { escapeHtml } from '../../html.ts';
import type { Translator } from '../../i18n/index.ts';

export function magicLinkPages(app: App, kit: PageKit, secondStep: MfaStep): void {
  const { ctx, pages } = kit;

  // The same words for every address: the answer tells nothing about accounts.
  const codeForm = (t: Translator, csrf: string, v: { email: string; error?: string; problem?: string }) => `${formError(v.problem)}
<p>${escapeHtml(t('magicLink.sent'))}</p>
<form method="post" action="/login/magic-link/code" novalidate>${csrfInput(csrf)}${hidden('email', v.email)}
${field({ name: 'code', label: t('magicLink.codeLabel'), error: v.error, autocomplete: 'one-time-code', inputmode: 'numeric', required: true, maxlength: 10 })}
<button type="submit">${escapeHtml(t('magicLink.submit'))}</button></form>
<p><a href="/login">${escapeHtml(t('magicLink.backToSignIn'))}</a></p>`;

  /** Signs the browser in with a link or code, or shows the second step; a refusal is shown on `again`. */
  async function finish(request: FastifyRequest, reply: FastifyReply, proof: MagicProof, again: (message: string, status: number) => Promise<FastifyReply>) {
    try {
      const result = await signInWithMagicLink(ctx, proof, 'session', clientInfo(request), kit.t(request).locale);
      const redirectTo = pages.returnTo(result.redirectTo ?? '/account');
      if (result.kind === 'mfa_required') return secondStep.show(request, reply, result, redirectTo);
      answerSignIn(ctx, reply, result, 'session');
      return kit.continueTo(request, reply, redirectTo);
    } catch (err) {
      const shown = refusal(err, reply, kit.t(request));
      if (!shown) throw err;
      return again(shown.message, shown.status);
    }
  }

  app.post('/login/magic-link', { schema: posts(form({ email: f.email }), [400, 403, 429], true) }, async (request, reply) => {
    pages.checkCsrf(request);
    const email = formField(request.body, 'email', 320);
    const t = kit.t(request);
    try {
      await requestMagicLink(ctx, { email, locale: t.locale }, clientInfo(request));
    } catch (err) {
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      return pages.redirect(reply, '/login', { kind: 'error', text: shown.message });
    }
    return kit.show(request, reply, null, { title: t('magicLink.checkInbox'), body: (csrf) => codeForm(t, csrf, { email }) });
  });

  app.post('/login/magic-link/code', { schema: posts(form({ email: f.email, code: f.code }), [400, 403, 429], true) }, async (request, reply) => {
    pages.checkCsrf(request);
    const email = formField(request.body, 'email', 320);
    const code = formField(request.body, 'code', 20);
    const t = kit.t(request);
    return finish(request, reply, { email, code }, (message, status) =>
      kit.show(request, reply, null, { title: t('magicLink.checkInbox'), status, body: (csrf) => codeForm(t, csrf, { email, error: message }) }),
    );
  });

  app.get('/magic-link', { schema: shows([], { token: f.token }) }, async (request, reply) => {
    const token = queryField(request, 'token', 200);
    reply.header('referrer-policy', 'no-referrer');
    const t = kit.t(request);
    return kit.show(request, reply, null, {
      title: t('magicLink.title'),
      body: (csrf) =>
        `<p>${escapeHtml(t('magicLink.lead'))}</p><form method="post" action="/magic-link">${csrfInput(csrf)}${hidden('token', token)}<button type="submit">${escapeHtml(t('magicLink.submit'))}</button></form>`,
    });
  });

  app.post('/magic-link', { schema: posts(form({ token: f.token }), [400, 403, 429], true) }, async (request, reply) => {
    pages.checkCsrf(request);
    const t = kit.t(request);
    return finish(request, reply, { token: formField(request.body, 'token', 200) }, (message, status) =>
      kit.show(request, reply, null, { title: t('magicLink.linkTitle'), status, body: () => `${formError(message)}<p><a href="/login">${escapeHtml(t('magicLink.backToSignIn'))}</a></p>` }),
    );
  });
}
