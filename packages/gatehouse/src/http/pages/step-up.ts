// Step-up on the pages, and the MFA_REQUIRED_ROLES rule, through the same domain functions as the API's guard.
// What can take over an account (factors, recovery codes, the password, API keys, an admin's changes) needs a
// sign-in within REAUTH_MAX_AGE: when it is older, the action is not done and the page asks "Confirm it's you"
// (the password, or a code when the account has a second factor); once confirmed, the browser returns to where
// it was and the person repeats the action. Nothing typed into the refused form is carried along.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { countSecondFactors, hasSecondFactor } from '../../factors/service.ts';
import { mustEnrolFirst } from '../../sign-in/access-policy.ts';
import { assertRecentSignIn, reauthenticate, type ReauthProof } from '../../sign-in/step-up.ts';
import { clientInfo, type App } from '../types.ts';
import { escapeHtml } from '../../html.ts';
import { listPasskeys } from '../../methods/passkeys/service.ts';
import { PASSKEY_SCRIPTS } from './assets.ts';
import type { PageKit } from './kit.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { csrfInput, errorsByField, field, formError, hidden } from './layout.ts';
import { formField, queryField, refusal, type SignedIn } from './page-request.ts';
import type { Translator } from '../../i18n/index.ts';
import { passkeyMessages } from './passkey-messages.ts';

/** Did the form carry this field at all (even empty)? Tells which of a page's forms was sent. */
export function sent(body: unknown, name: string): boolean {
  return typeof body === 'object' && body !== null && name in body;
}

/** The English text of enrolNotice (kept for callers not yet translated). */
export const ENROL_NOTICE = 'Your role needs two-step verification: add an authenticator app or a passkey before you can do anything else here.';
/** MFA_REQUIRED_ROLES' notice, in the page's language. */
export function enrolNotice(t: Translator): string {
  return t('stepUp.enrolNotice');
}

/** MFA_REQUIRED_ROLES: this viewer may only enrol a second factor (and sign out) until they have one. */
export function mustEnrol(ctx: Context, viewer: SignedIn): Promise<boolean> {
  return mustEnrolFirst(ctx.config, { role: viewer.user.role, amr: viewer.session.amr }, () => hasSecondFactor(ctx, viewer.user.id));
}

/** Where a confirmation may return: our own pages only, so the field is never an open redirect. */
const RETURNS = new Set([
  '/account',
  ...['password', 'sessions', 'identities', 'api-keys', 'mfa', 'passkeys', 'email', 'data', 'delete'].map((section) => `/account#${section}`),
  '/admin',
  '/admin/clients/page',
]);
const ENROL_RETURN = /^\/account\/mfa\/totp\?id=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// The OpenID provider's interaction page: prompt=login, max_age and acr_values=mfa confirm here, then continue.
const OIDC_INTERACTION_RETURN = /^\/oauth2\/interaction\/[A-Za-z0-9_-]{1,64}$/;
export function confirmReturn(raw: string): string {
  return RETURNS.has(raw) || ENROL_RETURN.test(raw) || OIDC_INTERACTION_RETURN.test(raw) ? raw : '/account';
}

interface ConfirmView {
  returnTo: string;
  hasFactor: boolean;
  hasPassword: boolean;
  /** Offer "Confirm with a passkey" (passkeys.js shows it; not without JavaScript). */
  hasPasskey: boolean;
  /** Passkeys but no authenticator app: no code form, the recovery code one open. */
  onlyPasskeys?: boolean;
  errors?: Record<string, string>;
  problem?: string;
  recoveryOpen?: boolean;
}

function confirmForm(t: Translator, csrf: string, v: ConfirmView): string {
  const carried = `${csrfInput(csrf)}${hidden('return_to', v.returnTo)}`;
  const intro = `<p>${escapeHtml(t('stepUp.intro'))}</p>`;
  let forms: string;
  const passkey = v.hasPasskey
    ? `<div class="passkey" data-passkey-reauth data-return-to="${escapeHtml(v.returnTo)}"${passkeyMessages(t, 'reauth')} hidden>
<button type="button">${escapeHtml(t('stepUp.withPasskey'))}</button>
<p class="passkey-error" role="alert" data-passkey-error hidden></p><p class="or">${escapeHtml(t('stepUp.or'))}</p></div>`
    : '';
  if (v.hasFactor) {
    forms = `${v.onlyPasskeys ? '' : `<form method="post" action="/account/reauthenticate" novalidate>${carried}
${field({ name: 'code', label: t('stepUp.codeLabel'), error: v.errors?.code, autocomplete: 'one-time-code', inputmode: 'numeric', plain: true, required: true, maxlength: 10 })}
<button type="submit">${escapeHtml(t('stepUp.confirm'))}</button></form>`}
<details class="alternative"${v.recoveryOpen || v.onlyPasskeys ? ' open' : ''}><summary>${escapeHtml(t('stepUp.recoveryInstead'))}</summary>
<form method="post" action="/account/reauthenticate" novalidate>${carried}
${field({ name: 'recovery_code', label: t('stepUp.recoveryLabel'), error: v.errors?.recovery_code, autocomplete: 'off', plain: true, required: true, maxlength: 64 })}
<button type="submit" class="secondary">${escapeHtml(t('stepUp.confirmRecovery'))}</button></form></details>`;
  } else if (v.hasPassword) {
    forms = `<form method="post" action="/account/reauthenticate" novalidate>${carried}
${field({ name: 'password', label: t('stepUp.password'), type: 'password', error: v.errors?.password, autocomplete: 'current-password', required: true })}
<button type="submit">${escapeHtml(t('stepUp.confirm'))}</button></form>`;
  } else {
    forms = `<p>${escapeHtml(t('stepUp.noPassword'))}</p>`;
  }
  return `${formError(v.problem)}${intro}${passkey}${forms}<p><a href="${v.returnTo.startsWith('/admin') ? v.returnTo : '/account'}">${escapeHtml(t('stepUp.cancel'))}</a></p>`;
}

export interface StepUp {
  /** Throws 403 reauthentication_required unless this session signed in within REAUTH_MAX_AGE. */
  assertRecent(viewer: SignedIn): Promise<void>;
  /** Is this the refusal that `confirm` answers? */
  isNeeded(err: unknown): boolean;
  /** The "Confirm it's you" page, for a refused action (403). */
  confirm(request: FastifyRequest, reply: FastifyReply, viewer: SignedIn, returnTo: string): Promise<FastifyReply>;
}

export function stepUpPages(app: App, kit: PageKit): StepUp {
  const { ctx, pages } = kit;

  async function show(request: FastifyRequest, reply: FastifyReply, viewer: SignedIn, view: Omit<ConfirmView, 'hasFactor' | 'hasPassword' | 'hasPasskey'>, status?: number) {
    const factors = await countSecondFactors(ctx, viewer.user.id);
    const hasFactor = factors > 0;
    const passkeys = hasFactor ? (await listPasskeys(ctx, viewer.user.id)).length : 0;
    const hasPasskey = passkeys > 0;
    const onlyPasskeys = hasPasskey && passkeys === factors;
    const full: ConfirmView = { ...view, hasFactor, hasPassword: viewer.user.passwordHash !== null, hasPasskey, onlyPasskeys };
    const t = kit.t(request);
    return kit.show(request, reply, viewer, { title: t('stepUp.title'), status, scripts: hasPasskey ? PASSKEY_SCRIPTS : undefined, body: (csrf) => confirmForm(t, csrf, full) });
  }

  async function signedInOr303(request: FastifyRequest, reply: FastifyReply): Promise<SignedIn | null> {
    const viewer = await pages.viewer(request);
    if (!viewer) {
      reply.header('cache-control', 'no-store').redirect('/login?redirect_to=%2Faccount', 303);
      return null;
    }
    return viewer;
  }

  app.get('/account/reauthenticate', { schema: shows([], { return_to: f.text('The page to return to once confirmed', 200) }, true) }, async (request, reply) => {
    const viewer = await signedInOr303(request, reply);
    if (!viewer) return reply;
    return show(request, reply, viewer, { returnTo: confirmReturn(queryField(request, 'return_to', 200)) });
  });

  // 401 a wrong password or code; 403 the form expired (CSRF); 429 too many tries.
  app.post(
    '/account/reauthenticate',
    {
      schema: posts(
        form({ password: f.password, code: f.code, recovery_code: f.recoveryCode, return_to: f.text('The page to return to once confirmed', 200) }, ['password', 'code', 'recovery_code', 'return_to']),
        [401, 403],
        true,
      ),
    },
    async (request, reply) => {
      pages.checkCsrf(request);
      const viewer = await signedInOr303(request, reply);
      if (!viewer) return reply;
      const returnTo = confirmReturn(formField(request.body, 'return_to', 200));
      const password = formField(request.body, 'password');
      const code = formField(request.body, 'code', 64).trim();
      const recoveryCode = formField(request.body, 'recovery_code', 64).trim();
      const usedRecovery = !code && !password && recoveryCode !== '';
      const fromRecovery = sent(request.body, 'recovery_code');
      const t = kit.t(request);
      if (!password && !code && !recoveryCode) {
        const name = fromRecovery ? 'recovery_code' : sent(request.body, 'password') ? 'password' : 'code';
        const message = t(name === 'password' ? 'stepUp.enterPassword' : name === 'code' ? 'stepUp.enterCode' : 'stepUp.enterRecovery');
        return show(request, reply, viewer, { returnTo, errors: { [name]: message }, recoveryOpen: fromRecovery }, 400);
      }
      const proof: ReauthProof = password ? { password } : code ? { code } : { recoveryCode };
      try {
        await reauthenticate(ctx, { userId: viewer.user.id, sessionId: viewer.session.id }, proof, clientInfo(request));
      } catch (err) {
        const shown = refusal(err, reply, t);
        if (!shown) throw err;
        const errors = errorsByField(t, (err as AppError).details);
        if (err instanceof AppError && err.code === 'invalid_credentials') errors.password = t('stepUp.passwordWrong');
        if (err instanceof AppError && err.code === 'invalid_mfa_code') errors[usedRecovery ? 'recovery_code' : 'code'] = t(usedRecovery ? 'stepUp.recoveryWrong' : 'stepUp.codeWrong');
        return show(request, reply, viewer, { returnTo, errors, problem: Object.keys(errors).length ? undefined : shown.message, recoveryOpen: usedRecovery }, shown.status);
      }
      return kit.continueTo(request, reply, returnTo, { kind: 'ok', text: t('stepUp.confirmed') });
    },
  );

  return {
    assertRecent: (viewer) => assertRecentSignIn(ctx, viewer.session.id),
    isNeeded: (err) => err instanceof AppError && err.code === 'reauthentication_required',
    confirm: (request, reply, viewer, returnTo) => show(request, reply, viewer, { returnTo: confirmReturn(returnTo) }, 403),
  };
}
