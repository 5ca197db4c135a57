// Sign in, sign up, sign out, and the end of a social sign-in. Each POST goes through the same domain
// functions as the JSON API (throttles, policy, audit), in session mode.
import { AppError } from '../../errors.ts';
import { escapeHtml } from '../../html.ts';
import { exchangeCode } from '../../methods/social/service.ts';
import { login } from '../../methods/password/login.ts';
import { logout } from '../../sessions/service.ts';
import { register } from '../../users/service.ts';
import { clearAuthCookies, deviceCookieOf } from '../cookies.ts';
import { answerSignIn } from '../sign-in-answer.ts';
import { clientInfo, type App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { PASSKEY_SCRIPTS } from './assets.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { csrfInput, errorsByField, field, formError, hidden } from './layout.ts';
import type { Translator } from '../../i18n/index.ts';
import { passkeyMessages } from './passkey-messages.ts';
import { formField, queryField, refusal } from './page-request.ts';
import { magicLinkPages } from './magic-link.ts';
import { mfaSignInPages } from './mfa-sign-in.ts';

export function signInPages(app: App, kit: PageKit): void {
  const { ctx, pages } = kit;
  const secondStep = mfaSignInPages(app, kit);
  magicLinkPages(app, kit, secondStep);
  const oauthReturn = `${ctx.config.publicUrl}/login/oauth`;

  function providerButtons(t: Translator): string {
    if (ctx.config.oauthProviders.length === 0) return '';
    // The provider sends the browser back to /login/oauth when it is allow-listed; otherwise to the first entry.
    const back = ctx.config.oauthRedirectAllowlist.includes(oauthReturn) ? `?redirect_to=${encodeURIComponent(oauthReturn)}` : '';
    const buttons = ctx.config.oauthProviders
      .map((p) => `<li><a class="button secondary" href="/auth/oauth/${encodeURIComponent(p.name)}${back}">${escapeHtml(t('signIn.continueWith', { provider: p.label }))}</a></li>`)
      .join('');
    return `<ul class="providers" aria-label="${escapeHtml(t('signIn.otherWays'))}">${buttons}</ul><p class="or">${escapeHtml(t('signIn.or'))}</p>`;
  }

  // An unverified address cannot sign in under REQUIRE_EMAIL_VERIFICATION: offer a new link right there.
  const resendForm = (t: Translator, csrf: string, email: string) => `<form method="post" action="/verify-email/resend" class="inline">${csrfInput(csrf)}${hidden('email', email)}
<button type="submit" class="secondary">${escapeHtml(t('signIn.resendLink'))}</button></form>`;

  // Shown by passkeys.js only where the browser has WebAuthn: without JavaScript there is no passkey button.
  const passkeyButton = (t: Translator, csrf: string, redirectTo: string) => `<div class="passkey" data-passkey-login data-return-to="${escapeHtml(redirectTo)}" data-csrf="${escapeHtml(csrf)}"${passkeyMessages(t, 'signIn')} hidden>
<button type="button" class="secondary">${escapeHtml(t('signIn.withPasskey'))}</button>
<p class="passkey-error" role="alert" data-passkey-error hidden></p>
<p class="or">${escapeHtml(t('signIn.or'))}</p></div>`;

  const loginForm = (t: Translator, csrf: string, v: { email?: string; redirectTo: string; errors?: Record<string, string>; problem?: string; unverified?: boolean }) => `${providerButtons(t)}
${formError(v.problem)}${v.unverified && v.email ? resendForm(t, csrf, v.email) : ''}
${passkeyButton(t, csrf, v.redirectTo)}
<form method="post" action="/login" novalidate>${csrfInput(csrf)}${hidden('redirect_to', v.redirectTo)}
${field({ name: 'email', label: t('signIn.email'), type: 'email', value: v.email, error: v.errors?.email, autocomplete: 'username webauthn', required: true, maxlength: 320 })}
${field({ name: 'password', label: t('signIn.password'), type: 'password', error: v.errors?.password, autocomplete: 'current-password', required: true })}
<button type="submit">${escapeHtml(t('signIn.submit'))}</button>
</form>
<details class="alternative"><summary>${escapeHtml(t('signIn.magicLinkInstead'))}</summary>
<form method="post" action="/login/magic-link" novalidate>${csrfInput(csrf)}
${field({ name: 'email', label: t('signIn.magicLinkAddress'), type: 'email', value: v.email, autocomplete: 'username', required: true, maxlength: 320, idPrefix: 'magic-' })}
<button type="submit" class="secondary">${escapeHtml(t('signIn.magicLinkSubmit'))}</button></form></details>
<p><a href="/forgot-password">${escapeHtml(t('signIn.forgotPassword'))}</a> · <a href="/register">${escapeHtml(t('signIn.createAccount'))}</a></p>`;

  app.get('/login', { schema: shows([], { redirect_to: f.redirectTo, error: f.text('Set when a social sign-in did not work', 100) }, true) }, async (request, reply) => {
    const redirectTo = pages.returnTo(queryField(request, 'redirect_to'));
    const viewer = await pages.viewer(request);
    if (viewer) return reply.header('cache-control', 'no-store').redirect(redirectTo, 303);
    const error = queryField(request, 'error', 100);
    const t = kit.t(request);
    return kit.show(request, reply, null, {
      title: t('signIn.title'),
      scripts: PASSKEY_SCRIPTS,
      body: (csrf) => loginForm(t, csrf, { redirectTo, problem: error ? t('signIn.providerFailed') : undefined }),
    });
  });

  // 200 the second-factor form (an account with one); 401 wrong e-mail or password; 403 form expired (CSRF),
  // account disabled or not confirmed.
  app.post('/login', { schema: posts(form({ email: f.email, password: f.password, redirect_to: f.redirectTo }, ['redirect_to']), [401, 403], true) }, async (request, reply) => {
    pages.checkCsrf(request);
    const email = formField(request.body, 'email', 320);
    const password = formField(request.body, 'password');
    const redirectTo = pages.returnTo(formField(request.body, 'redirect_to'));
    const t = kit.t(request);
    const errors: Record<string, string> = {};
    if (!email.trim()) errors.email = t('signIn.enterEmail');
    if (!password) errors.password = t('signIn.enterPassword');
    if (Object.keys(errors).length) {
      return kit.show(request, reply, null, { title: t('signIn.title'), scripts: PASSKEY_SCRIPTS, status: 400, body: (csrf) => loginForm(t, csrf, { email, redirectTo, errors }) });
    }
    try {
      const result = await login(ctx, { email, password, mode: 'session', deviceCookie: deviceCookieOf(request, ctx.config) }, clientInfo(request));
      // A second factor is needed: no cookie yet, the ticket travels in the next form.
      if (result.kind === 'mfa_required') return secondStep.show(request, reply, result, redirectTo);
      answerSignIn(ctx, reply, result, 'session');
      return kit.continueTo(request, reply, redirectTo);
    } catch (err) {
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      const onPassword = err instanceof AppError && err.code === 'invalid_credentials';
      const unverified = err instanceof AppError && err.code === 'email_not_verified';
      return kit.show(request, reply, null, {
        title: t('signIn.title'),
        scripts: PASSKEY_SCRIPTS,
        status: shown.status,
        // A wrong password is this page's own words (the API's are "Invalid email or password" too).
        body: (csrf) => loginForm(t, csrf, { email, redirectTo, unverified, ...(onPassword ? { errors: { password: t('signIn.wrongPassword') } } : { problem: shown.message }) }),
      });
    }
  });

  // A passkey without user verification signed in on /login (passkeys.js) and got the MFA challenge: its ticket
  // comes here in a form POST (never in a URL), and the page is the second step, as after a password.
  app.post('/login/passkey', { schema: posts(form({ mfa_ticket: f.mfaTicket, redirect_to: f.redirectTo }, ['redirect_to']), [403], true) }, async (request, reply) => {
    pages.checkCsrf(request);
    return secondStep.showTicket(request, reply, formField(request.body, 'mfa_ticket', 200), pages.returnTo(formField(request.body, 'redirect_to')));
  });

  const registerForm = (t: Translator, csrf: string, v: { email?: string; name?: string; errors?: Record<string, string>; problem?: string }) => `${formError(v.problem)}
<form method="post" action="/register" novalidate>${csrfInput(csrf)}
${field({ name: 'name', label: t('signIn.register.name'), value: v.name, error: v.errors?.name, autocomplete: 'name', maxlength: 100, hint: t('signIn.register.optional') })}
${field({ name: 'email', label: t('signIn.email'), type: 'email', value: v.email, error: v.errors?.email, autocomplete: 'email', required: true, maxlength: 320 })}
${field({ name: 'password', label: t('signIn.password'), type: 'password', error: v.errors?.password, autocomplete: 'new-password', required: true, hint: t('signIn.register.passwordHint', { min: ctx.config.passwordMinLength, max: ctx.config.passwordMaxLength }) })}
<button type="submit">${escapeHtml(t('signIn.register.submit'))}</button>
</form>
${ctx.config.magicLinkSignup ? `<p><a href="/register/passkey">${escapeHtml(t('passkeySignup.link'))}</a></p>\n` : ''}<p>${escapeHtml(t('signIn.register.haveAccount'))} <a href="/login">${escapeHtml(t('signIn.register.signInLink'))}</a></p>`;

  app.get('/register', { schema: shows([], undefined, true) }, async (request, reply) => {
    const viewer = await pages.viewer(request);
    if (viewer) return reply.header('cache-control', 'no-store').redirect('/account', 303);
    const t = kit.t(request);
    return kit.show(request, reply, null, { title: t('signIn.register.title'), body: (csrf) => registerForm(t, csrf, {}) });
  });

  app.post('/register', { schema: posts(form({ email: f.email, password: f.newPassword, name: f.name }, ['name']), [403, 409]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const email = formField(request.body, 'email', 320);
    const name = formField(request.body, 'name', 1000);
    const password = formField(request.body, 'password');
    const t = kit.t(request);
    try {
      const result = await register(ctx, { email, password, name: name.trim() ? name : undefined, mode: 'session', locale: t.locale }, clientInfo(request));
      answerSignIn(ctx, reply, result, 'session');
      if (result.kind === 'created') {
        return pages.redirect(reply, '/login', { kind: 'ok', text: t('signIn.register.welcomeConfirmFirst', { email: result.user.email }) });
      }
      return pages.redirect(reply, '/account', { kind: 'ok', text: t('signIn.register.welcome', { email: result.user.email }) });
    } catch (err) {
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      const errors = err instanceof AppError && err.code === 'email_taken' ? { email: shown.message } : errorsByField(t, (err as AppError).details);
      const problem = Object.keys(errors).length ? undefined : shown.message;
      return kit.show(request, reply, null, { title: t('signIn.register.title'), status: shown.status, body: (csrf) => registerForm(t, csrf, { email, name, errors, problem }) });
    }
  });

  app.post('/logout', { schema: posts(form({}), [403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const viewer = await pages.viewer(request);
    if (viewer) await logout(ctx, viewer.user.id, viewer.session.id, clientInfo(request));
    clearAuthCookies(reply, ctx.config);
    return pages.redirect(reply, '/login', { kind: 'ok', text: kit.t(request)('signIn.signedOut') });
  });

  // Where a social sign-in comes back with its one-time code. Opening the link signs nobody in (a link
  // planted by someone else must not sign this browser into their account): the button's POST does.
  app.get('/login/oauth', { schema: shows([], { code: f.text('The one-time code of a social sign-in', 200), error: f.text('The error code of a failed one', 100), error_description: f.text('What went wrong', 300) }) }, async (request, reply) => {
    const code = queryField(request, 'code', 200);
    const description = queryField(request, 'error_description', 300);
    const t = kit.t(request);
    if (!code) {
      return kit.show(request, reply, null, {
        title: t('signIn.oauth.notFinishedTitle'),
        status: 400,
        body: () => `${formError(description ? t.server(description) : t('signIn.oauth.providerRefused'))}<p><a href="/login">${escapeHtml(t('signIn.backToSignIn'))}</a></p>`,
      });
    }
    return kit.show(request, reply, null, {
      title: t('signIn.oauth.finishTitle'),
      body: (csrf) => `<form method="post" action="/login/oauth">${csrfInput(csrf)}${hidden('code', code)}<button type="submit">${escapeHtml(t('signIn.oauth.continue'))}</button></form>`,
    });
  });

  app.post('/login/oauth', { schema: posts(form({ code: f.text('The one-time code', 200) }), [401, 403, 409], true) }, async (request, reply) => {
    pages.checkCsrf(request);
    const t = kit.t(request);
    try {
      const result = await exchangeCode(ctx, formField(request.body, 'code', 200), 'session', clientInfo(request));
      if (result.kind === 'mfa_required') return secondStep.show(request, reply, result, '/account');
      answerSignIn(ctx, reply, result, 'session');
      return pages.redirect(reply, '/account');
    } catch (err) {
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      return kit.show(request, reply, null, { title: t('signIn.oauth.notFinishedTitle'), status: shown.status, body: () => `${formError(shown.message)}<p><a href="/login">${escapeHtml(t('signIn.backToSignIn'))}</a></p>` });
    }
  });
}
