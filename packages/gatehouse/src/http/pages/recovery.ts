// Forgot password, the reset link and the verification link. Opening a link never uses its token (mail
// scanners and previews open links too): the page shows a form, and only its POST acts.
import { AppError } from '../../errors.ts';
import { confirmMfaReset } from '../../factors/reset.ts';
import { forgotPassword, resetLinkUsable, resendVerificationTo, resetPassword, verifyEmail } from '../../recovery/service.ts';
import { disownSignIn } from '../../sign-in/new-device.ts';
import { clientInfo, type App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { csrfInput, errorsByField, field, formError, hidden } from './layout.ts';
import { formField, queryField, refusal } from './page-request.ts';
import { escapeHtml } from '../../html.ts';
import type { Translator } from '../../i18n/index.ts';

export function recoveryPages(app: App, kit: PageKit): void {
  const { ctx, pages } = kit;

  /** The page for a link that cannot be used; `again` is HTML (escaped by the caller). */
  const badLink = (t: Translator, again: string) => () => `${formError(t('recovery.badLink'))}<p>${again}</p>`;
  const askAgain = (t: Translator) => `<a href="/forgot-password">${escapeHtml(t('recovery.askNewLink'))}</a>`;

  const forgotForm = (t: Translator, csrf: string, v: { email?: string; error?: string; problem?: string }) => `${formError(v.problem)}
<p>${escapeHtml(t('recovery.forgot.lead'))}</p>
<form method="post" action="/forgot-password" novalidate>${csrfInput(csrf)}
${field({ name: 'email', label: t('recovery.email'), type: 'email', value: v.email, error: v.error, autocomplete: 'email', required: true, maxlength: 320 })}
<button type="submit">${escapeHtml(t('recovery.forgot.submit'))}</button>
</form>
<p><a href="/login">${escapeHtml(t('recovery.backToSignIn'))}</a></p>`;

  app.get('/forgot-password', { schema: shows([]) }, async (request, reply) => {
    const viewer = await pages.viewer(request);
    const t = kit.t(request);
    return kit.show(request, reply, viewer, { title: t('recovery.forgot.title'), body: (csrf) => forgotForm(t, csrf, {}) });
  });

  app.post('/forgot-password', { schema: posts(form({ email: f.email }), [403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const email = formField(request.body, 'email', 320);
    const viewer = await pages.viewer(request);
    const t = kit.t(request);
    if (!email.trim()) {
      return kit.show(request, reply, viewer, { title: t('recovery.forgot.title'), status: 400, body: (csrf) => forgotForm(t, csrf, { email, error: t('recovery.enterEmail') }) });
    }
    try {
      await forgotPassword(ctx, email, clientInfo(request), t.locale);
    } catch (err) {
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      return kit.show(request, reply, viewer, { title: t('recovery.forgot.title'), status: shown.status, body: (csrf) => forgotForm(t, csrf, { email, problem: shown.message }) });
    }
    // The same words for every address, as the JSON API says them: the answer tells nothing about accounts.
    return pages.redirect(reply, '/forgot-password', { kind: 'ok', text: t('recovery.forgot.sent') });
  });

  // From the sign-in page, for an address that cannot sign in until it is confirmed; alike for every address.
  app.post('/verify-email/resend', { schema: posts(form({ email: f.email }), [403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const email = formField(request.body, 'email', 320);
    if (!email.trim()) return pages.redirect(reply, '/login');
    const t = kit.t(request);
    try {
      await resendVerificationTo(ctx, email, clientInfo(request), t.locale);
    } catch (err) {
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      return pages.redirect(reply, '/login', { kind: 'error', text: shown.message });
    }
    return pages.redirect(reply, '/login', { kind: 'ok', text: t('recovery.resendSent') });
  });

  const resetForm = (t: Translator, csrf: string, token: string, errors: { password?: string; password_again?: string } = {}) => `<form method="post" action="/reset-password">${csrfInput(csrf)}${hidden('token', token)}
${field({ name: 'password', label: t('recovery.reset.password'), type: 'password', error: errors.password, autocomplete: 'new-password', required: true, hint: t('recovery.reset.passwordHint', { min: ctx.config.passwordMinLength, max: ctx.config.passwordMaxLength }) })}
${field({ name: 'password_again', label: t('recovery.reset.passwordAgain'), type: 'password', error: errors.password_again, autocomplete: 'new-password', required: true })}
<button type="submit">${escapeHtml(t('recovery.reset.submit'))}</button>
</form>`;

  // A used or expired link says so at once, before anyone types a new password into a form that cannot work.
  app.get('/reset-password', { schema: shows([400], { token: f.token }) }, async (request, reply) => {
    const token = queryField(request, 'token', 200);
    const t = kit.t(request);
    if (!(await resetLinkUsable(ctx, token))) {
      return kit.show(request, reply, null, { title: t('recovery.linkNotValid'), status: 400, body: badLink(t, askAgain(t)) });
    }
    return kit.show(request, reply, null, { title: t('recovery.reset.title'), body: (csrf) => resetForm(t, csrf, token) });
  });

  app.post('/reset-password', { schema: posts(form({ token: f.token, password: f.newPassword, password_again: f.text('The new password again', 4096) }), [403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const token = formField(request.body, 'token', 200);
    const password = formField(request.body, 'password');
    const t = kit.t(request);
    // Typed twice, so a slip of the finger does not lock the owner out of the account they just recovered.
    if (password !== formField(request.body, 'password_again')) {
      return kit.show(request, reply, null, { title: t('recovery.reset.title'), status: 400, body: (csrf) => resetForm(t, csrf, token, { password_again: t('recovery.reset.differ') }) });
    }
    try {
      await resetPassword(ctx, token, password, clientInfo(request), t.locale);
    } catch (err) {
      if (err instanceof AppError && err.code === 'validation_failed') {
        const error = errorsByField(t, err.details).password ?? t.server(err.message);
        return kit.show(request, reply, null, { title: t('recovery.reset.title'), status: 400, body: (csrf) => resetForm(t, csrf, token, { password: error }) });
      }
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      return kit.show(request, reply, null, { title: t('recovery.linkNotValid'), status: shown.status, body: badLink(t, askAgain(t)) });
    }
    return pages.redirect(reply, '/login', { kind: 'ok', text: t('recovery.reset.done') });
  });

  app.get('/verify-email', { schema: shows([], { token: f.token }) }, async (request, reply) => {
    const token = queryField(request, 'token', 200);
    const t = kit.t(request);
    return kit.show(request, reply, null, {
      title: t('recovery.verify.title'),
      body: (csrf) => `<form method="post" action="/verify-email">${csrfInput(csrf)}${hidden('token', token)}<button type="submit">${escapeHtml(t('recovery.verify.submit'))}</button></form>`,
    });
  });

  // The two security links: a page that asks for the click (opening the link does nothing), then the POST.
  const linkPage = (path: string, words: (t: Translator) => { title: string; lead: string; button: string }) => {
    app.get(path, { schema: shows([], { token: f.token }) }, async (request, reply) => {
      const token = queryField(request, 'token', 200);
      const t = kit.t(request);
      const { title, lead, button } = words(t);
      return kit.show(request, reply, null, {
        title,
        body: (csrf) => `<p>${escapeHtml(lead)}</p><form method="post" action="${path}">${csrfInput(csrf)}${hidden('token', token)}<button type="submit">${escapeHtml(button)}</button></form>`,
      });
    });
  };
  const acting = (path: string, act: (t: Translator, token: string, request: Parameters<typeof clientInfo>[0]) => Promise<string>, again: (t: Translator) => string) => {
    app.post(path, { schema: posts(form({ token: f.token }), [403]) }, async (request, reply) => {
      pages.checkCsrf(request);
      const t = kit.t(request);
      try {
        return pages.redirect(reply, '/login', { kind: 'ok', text: await act(t, formField(request.body, 'token', 200), request) });
      } catch (err) {
        const shown = refusal(err, reply, t);
        if (!shown) throw err;
        return kit.show(request, reply, null, { title: t('recovery.linkNotValid'), status: shown.status, body: badLink(t, escapeHtml(again(t))) });
      }
    });
  };

  linkPage('/mfa-reset', (t) => ({
    title: t('recovery.mfaReset.title'),
    lead: t.plural('recovery.mfaReset.lead', Math.round(ctx.config.mfaResetDelayMs / 3_600_000)),
    button: t('recovery.mfaReset.submit'),
  }));
  acting(
    '/mfa-reset',
    async (t, token, request) => t('recovery.mfaReset.done', { date: t.dateTime((await confirmMfaReset(ctx, token, clientInfo(request), t.locale)).removesAt) }),
    (t) => t('recovery.mfaReset.again'),
  );
  linkPage('/not-me', (t) => ({ title: t('recovery.notMe.title'), lead: t('recovery.notMe.lead'), button: t('recovery.notMe.submit') }));
  acting(
    '/not-me',
    async (t, token, request) => {
      await disownSignIn(ctx, token, clientInfo(request), t.locale);
      return t('recovery.notMe.done');
    },
    (t) => t('recovery.notMe.again'),
  );

  app.post('/verify-email', { schema: posts(form({ token: f.token }), [403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    try {
      const user = await verifyEmail(ctx, formField(request.body, 'token', 200), clientInfo(request));
      const viewer = await pages.viewer(request);
      return pages.redirect(reply, viewer ? '/account' : '/login', { kind: 'ok', text: kit.t(request)('recovery.verify.confirmed', { email: user.email }) });
    } catch (err) {
      const t = kit.t(request);
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      return kit.show(request, reply, null, {
        title: t('recovery.linkNotValid'),
        status: shown.status,
        body: badLink(t, escapeHtml(t('recovery.verify.again'))),
      });
    }
  });
}
