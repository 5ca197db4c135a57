// Signing up with a passkey, for an account with no password (MAGIC_LINK_SIGNUP): /register/passkey takes an
// e-mail address and mails the magic link and code (the same answer for every address: an unknown one gets an
// account when the link is used, a known one is signed in to its own account, never a second one); the link
// (or code) signs in and lands on /register/passkey/new, a recent sign-in, where passkeys.js creates the passkey
// at once through POST /auth/passkeys/register/options and /register, then shows the recovery codes.
import { AppError } from '../../errors.ts';
import { escapeHtml } from '../../html.ts';
import { requestMagicLink } from '../../methods/magic-link/service.ts';
import { normalizeEmail } from '../../users/policy.ts';
import { clientInfo, type App } from '../types.ts';
import type { Translator } from '../../i18n/index.ts';
import { PASSKEY_SCRIPTS } from './assets.ts';
import type { PageKit } from './kit.ts';
import { passkeyMessages } from './passkey-messages.ts';
import { csrfInput, errorsByField, field, formError, hidden } from './layout.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { formField, refusal } from './page-request.ts';

export const PASSKEY_SIGNUP_PATH = '/register/passkey';
/** Where the e-mailed link (or code) lands: "create your passkey". A recent sign-in, so registration is allowed. */
export const PASSKEY_SIGNUP_NEXT = '/register/passkey/new';

export function passkeySignupPages(app: App, kit: PageKit): void {
  const { ctx, pages } = kit;

  const notOffered = (t: Translator) => `<p>${escapeHtml(t('passkeySignup.notOffered'))}</p>
<p><a href="/register">${escapeHtml(t('passkeySignup.withPassword'))}</a> · <a href="/login">${escapeHtml(t('passkeySignup.signIn'))}</a></p>`;

  const emailForm = (t: Translator, csrf: string, v: { email?: string; error?: string; problem?: string }) => `${formError(v.problem)}
<p>${escapeHtml(t('passkeySignup.intro'))}</p>
<form method="post" action="${PASSKEY_SIGNUP_PATH}" novalidate>${csrfInput(csrf)}
${field({ name: 'email', label: t('passkeySignup.email'), type: 'email', value: v.email, error: v.error, autocomplete: 'email', required: true, maxlength: 320 })}
<button type="submit">${escapeHtml(t('passkeySignup.send'))}</button></form>
<p><a href="/register">${escapeHtml(t('passkeySignup.withPassword'))}</a> · ${escapeHtml(t('passkeySignup.haveAccount'))} <a href="/login">${escapeHtml(t('passkeySignup.signIn'))}</a></p>`;

  // The code form goes to the magic link's own code route, which signs in (or asks the second factor of an
  // existing account that has one) and continues to where the link was asked to go: PASSKEY_SIGNUP_NEXT.
  const sentPage = (t: Translator, csrf: string, email: string) => `<p role="status">${escapeHtml(t('passkeySignup.sent', { email }))}</p>
<form method="post" action="/login/magic-link/code" novalidate>${csrfInput(csrf)}${hidden('email', email)}
${field({ name: 'code', label: t('passkeySignup.code'), autocomplete: 'one-time-code', inputmode: 'numeric', plain: true, required: true, maxlength: 10 })}
<button type="submit">${escapeHtml(t('passkeySignup.continue'))}</button></form>
<p><a href="${PASSKEY_SIGNUP_PATH}">${escapeHtml(t('passkeySignup.otherAddress'))}</a></p>`;

  // The same markup passkeys.js drives on /account ([data-passkey-register]): shown only where the browser has
  // WebAuthn on a host name; otherwise the note says so, and the account page can add a passkey later.
  const createPage = (t: Translator, email: string) => {
    const [before = '', after = ''] = t('passkeySignup.created').split('{name}');
    return `<p>${escapeHtml(t('passkeySignup.confirmed', { email }))}</p>
<p class="hint" data-passkey-needs-script>${escapeHtml(t('passkeySignup.needsScript'))}</p>
<div class="passkey" data-passkey-register${passkeyMessages(t, 'register')} hidden>
${field({ name: 'passkey_name', label: t('passkeySignup.name'), maxlength: 100, hint: t('passkeySignup.nameHint') })}
<button type="button" data-passkey-add>${escapeHtml(t('passkeySignup.create'))}</button>
<p class="passkey-error" role="alert" data-passkey-error hidden></p>
<div class="passkey-done" role="status" data-passkey-done hidden><p>${escapeHtml(before)}<span data-passkey-name></span>${escapeHtml(after)}</p>
<p>${escapeHtml(t('passkeySignup.codes'))}</p>
<ul class="passkey-codes"></ul>
<button type="button">${escapeHtml(t('passkeySignup.saved'))}</button></div>
</div>
<p><a href="/account">${escapeHtml(t('passkeySignup.later'))}</a></p>`;
  };

  // 200 the e-mail form, or the note that passkey sign-up is not offered (MAGIC_LINK_SIGNUP off); 303 to the
  // account's passkeys when already signed in.
  app.get(PASSKEY_SIGNUP_PATH, { schema: shows([], undefined, true) }, async (request, reply) => {
    const viewer = await pages.viewer(request);
    if (viewer) return reply.header('cache-control', 'no-store').redirect('/account#passkeys', 303);
    const t = kit.t(request);
    return kit.show(request, reply, null, {
      title: t('passkeySignup.title'),
      body: (csrf) => (ctx.config.magicLinkSignup ? emailForm(t, csrf, {}) : notOffered(t)),
    });
  });

  // 200 "check your inbox" with the code form, whatever the address; 400 not an address; 403 the form expired,
  // or passkey sign-up is not offered; 429 too many requests from this network.
  app.post(PASSKEY_SIGNUP_PATH, { schema: posts(form({ email: f.email }), [400, 403, 429], true) }, async (request, reply) => {
    pages.checkCsrf(request);
    const t = kit.t(request);
    const title = t('passkeySignup.title');
    if (!ctx.config.magicLinkSignup) return kit.show(request, reply, null, { title, status: 403, body: () => notOffered(t) });
    const email = formField(request.body, 'email', 320);
    try {
      await requestMagicLink(ctx, { email, redirectTo: PASSKEY_SIGNUP_NEXT, locale: t.locale }, clientInfo(request));
    } catch (err) {
      const shown = refusal(err, reply, t);
      if (!shown) throw err;
      const error = errorsByField(t, err instanceof AppError ? err.details : undefined).email;
      return kit.show(request, reply, null, { title, status: shown.status, body: (csrf) => emailForm(t, csrf, { email, error, problem: error ? undefined : shown.message }) });
    }
    return kit.show(request, reply, null, { title: t('passkeySignup.sentTitle'), body: (csrf) => sentPage(t, csrf, normalizeEmail(email)) });
  });

  // 200 "create your passkey" for the signed-in account (the link's landing page); 303 to sign in first.
  app.get(PASSKEY_SIGNUP_NEXT, { schema: shows([], undefined, true) }, async (request, reply) => {
    const viewer = await pages.viewer(request);
    if (!viewer) return reply.header('cache-control', 'no-store').redirect(`/login?redirect_to=${encodeURIComponent(PASSKEY_SIGNUP_NEXT)}`, 303);
    const t = kit.t(request);
    return kit.show(request, reply, viewer, { title: t('passkeySignup.createTitle'), scripts: PASSKEY_SCRIPTS, body: () => createPage(t, viewer.user.email) });
  });
}
