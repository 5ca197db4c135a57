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

// The same words for every address, as the JSON API says them: the answer tells nothing about accounts.
const FORGOT_MESSAGE = 'If an account exists for that address, we have sent it a link to reset the password.';
const BAD_LINK = 'This link is invalid, was already used or has expired.';

export function recoveryPages(app: App, kit: PageKit): void {
  const { ctx, pages } = kit;

  const badLink = (again: string) => () => `${formError(BAD_LINK)}<p>${again}</p>`;

  const forgotForm = (csrf: string, v: { email?: string; error?: string; problem?: string }) => `${formError(v.problem)}
<p>Enter the address of your account and we will e-mail you a link to choose a new password.</p>
<form method="post" action="/forgot-password" novalidate>${csrfInput(csrf)}
${field({ name: 'email', label: 'Email', type: 'email', value: v.email, error: v.error, autocomplete: 'email', required: true, maxlength: 320 })}
<button type="submit">Send the link</button>
</form>
<p><a href="/login">Back to sign in</a></p>`;

  app.get('/forgot-password', { schema: shows([]) }, async (request, reply) =>
    kit.show(request, reply, await pages.viewer(request), { title: 'Forgot your password?', body: (csrf) => forgotForm(csrf, {}) }),
  );

  app.post('/forgot-password', { schema: posts(form({ email: f.email }), [403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const email = formField(request.body, 'email', 320);
    const viewer = await pages.viewer(request);
    if (!email.trim()) {
      return kit.show(request, reply, viewer, { title: 'Forgot your password?', status: 400, body: (csrf) => forgotForm(csrf, { email, error: 'Enter your email address' }) });
    }
    try {
      await forgotPassword(ctx, email, clientInfo(request));
    } catch (err) {
      const shown = refusal(err, reply);
      if (!shown) throw err;
      return kit.show(request, reply, viewer, { title: 'Forgot your password?', status: shown.status, body: (csrf) => forgotForm(csrf, { email, problem: shown.message }) });
    }
    return pages.redirect(reply, '/forgot-password', { kind: 'ok', text: FORGOT_MESSAGE });
  });

  // From the sign-in page, for an address that cannot sign in until it is confirmed; alike for every address.
  app.post('/verify-email/resend', { schema: posts(form({ email: f.email }), [403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const email = formField(request.body, 'email', 320);
    if (!email.trim()) return pages.redirect(reply, '/login');
    try {
      await resendVerificationTo(ctx, email, clientInfo(request));
    } catch (err) {
      const shown = refusal(err, reply);
      if (!shown) throw err;
      return pages.redirect(reply, '/login', { kind: 'error', text: shown.message });
    }
    return pages.redirect(reply, '/login', { kind: 'ok', text: 'If the address is not confirmed yet, a new link is on its way.' });
  });

  const resetForm = (csrf: string, token: string, errors: { password?: string; password_again?: string } = {}) => `<form method="post" action="/reset-password">${csrfInput(csrf)}${hidden('token', token)}
${field({ name: 'password', label: 'New password', type: 'password', error: errors.password, autocomplete: 'new-password', required: true, hint: `${ctx.config.passwordMinLength} to ${ctx.config.passwordMaxLength} characters; every session will be signed out` })}
${field({ name: 'password_again', label: 'Repeat the password', type: 'password', error: errors.password_again, autocomplete: 'new-password', required: true })}
<button type="submit">Set new password</button>
</form>`;

  // A used or expired link says so at once, before anyone types a new password into a form that cannot work.
  app.get('/reset-password', { schema: shows([400], { token: f.token }) }, async (request, reply) => {
    const token = queryField(request, 'token', 200);
    if (!(await resetLinkUsable(ctx, token))) {
      return kit.show(request, reply, null, { title: 'Link not valid', status: 400, body: badLink('<a href="/forgot-password">Ask for a new link</a>') });
    }
    return kit.show(request, reply, null, { title: 'Choose a new password', body: (csrf) => resetForm(csrf, token) });
  });

  app.post('/reset-password', { schema: posts(form({ token: f.token, password: f.newPassword, password_again: f.text('The new password again', 4096) }), [403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    const token = formField(request.body, 'token', 200);
    const password = formField(request.body, 'password');
    // Typed twice, so a slip of the finger does not lock the owner out of the account they just recovered.
    if (password !== formField(request.body, 'password_again')) {
      return kit.show(request, reply, null, { title: 'Choose a new password', status: 400, body: (csrf) => resetForm(csrf, token, { password_again: 'The two passwords differ: type the same one twice' }) });
    }
    try {
      await resetPassword(ctx, token, password, clientInfo(request));
    } catch (err) {
      if (err instanceof AppError && err.code === 'validation_failed') {
        const error = errorsByField(err.details).password ?? err.message;
        return kit.show(request, reply, null, { title: 'Choose a new password', status: 400, body: (csrf) => resetForm(csrf, token, { password: error }) });
      }
      const shown = refusal(err, reply);
      if (!shown) throw err;
      return kit.show(request, reply, null, { title: 'Link not valid', status: shown.status, body: badLink('<a href="/forgot-password">Ask for a new link</a>') });
    }
    return pages.redirect(reply, '/login', { kind: 'ok', text: 'Your password is changed and every session was signed out. Sign in with the new password.' });
  });

  app.get('/verify-email', { schema: shows([], { token: f.token }) }, async (request, reply) => {
    const token = queryField(request, 'token', 200);
    return kit.show(request, reply, null, {
      title: 'Confirm your email address',
      body: (csrf) => `<form method="post" action="/verify-email">${csrfInput(csrf)}${hidden('token', token)}<button type="submit">Confirm my email address</button></form>`,
    });
  });

  // The two security links: a page that asks for the click (opening the link does nothing), then the POST.
  const linkPage = (path: string, title: string, lead: string, button: string) => {
    app.get(path, { schema: shows([], { token: f.token }) }, async (request, reply) => {
      const token = queryField(request, 'token', 200);
      return kit.show(request, reply, null, {
        title,
        body: (csrf) => `<p>${lead}</p><form method="post" action="${path}">${csrfInput(csrf)}${hidden('token', token)}<button type="submit">${button}</button></form>`,
      });
    });
  };
  const acting = (path: string, act: (token: string, request: Parameters<typeof clientInfo>[0]) => Promise<string>, again: string) => {
    app.post(path, { schema: posts(form({ token: f.token }), [403]) }, async (request, reply) => {
      pages.checkCsrf(request);
      try {
        return pages.redirect(reply, '/login', { kind: 'ok', text: await act(formField(request.body, 'token', 200), request) });
      } catch (err) {
        const shown = refusal(err, reply);
        if (!shown) throw err;
        return kit.show(request, reply, null, { title: 'Link not valid', status: shown.status, body: badLink(again) });
      }
    });
  };

  linkPage(
    '/mfa-reset',
    'Remove your second factors',
    `Your authenticator apps, passkeys and recovery codes will be removed ${Math.round(ctx.config.mfaResetDelayMs / 3_600_000)} hours from now, and you will be told by e-mail. Until then, a sign-in with any of them cancels the removal.`,
    'Start the removal',
  );
  acting(
    '/mfa-reset',
    async (token, request) => `Your second factors will be removed on ${new Date((await confirmMfaReset(ctx, token, clientInfo(request))).removesAt).toUTCString()}. Until then, signing in still needs one of them.`,
    'Ask for a new link from the sign-in page.',
  );
  linkPage('/not-me', 'This was not me', 'Every session of your account will be signed out, and we will e-mail you a link to choose a new password.', 'Sign out everywhere');
  acting(
    '/not-me',
    async (token, request) => {
      await disownSignIn(ctx, token, clientInfo(request));
      return 'Every session of your account was signed out. Check your e-mail for a link to choose a new password.';
    },
    'If you still think someone else signed in, reset your password from the sign-in page.',
  );

  app.post('/verify-email', { schema: posts(form({ token: f.token }), [403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    try {
      const user = await verifyEmail(ctx, formField(request.body, 'token', 200), clientInfo(request));
      const viewer = await pages.viewer(request);
      return pages.redirect(reply, viewer ? '/account' : '/login', { kind: 'ok', text: `${user.email} is confirmed.` });
    } catch (err) {
      const shown = refusal(err, reply);
      if (!shown) throw err;
      return kit.show(request, reply, null, {
        title: 'Link not valid',
        status: shown.status,
        body: badLink('Sign in and ask for a new link from your account page.'),
      });
    }
  });
}
