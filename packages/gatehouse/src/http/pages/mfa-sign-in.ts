// The second step of a page sign-in: after a password (or a social sign-in) on an account with a second
// factor, no cookie is set; the page asks for a code from the authenticator app, or a recovery code, and
// carries the sign-in's ticket in a hidden field. The ticket is bound to session mode, as the first step was.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.ts';
import type { SecondFactorProof } from '../../factors/service.ts';
import { completeMfaSignIn } from '../../sign-in/complete-sign-in.ts';
import { availableMethods } from '../../factors/service.ts';
import { escapeHtml } from '../../html.ts';
import { peekMfaTicket, type MfaChallenge } from '../../sign-in/mfa-challenge.ts';
import { deviceCookieOf } from '../cookies.ts';
import { answerSignIn } from '../sign-in-answer.ts';
import { clientInfo, type App } from '../types.ts';
import { PASSKEY_SCRIPTS } from './assets.ts';
import type { PageKit } from './kit.ts';
import { form, formFields as f, posts } from './page-answers.ts';
import { csrfInput, field, formError, hidden } from './layout.ts';
import { formField, refusal } from './page-request.ts';
import { sent } from './step-up.ts';
import type { Translator } from '../../i18n/index.ts';
import { passkeyMessages } from './passkey-messages.ts';

interface StepView {
  ticket: string;
  redirectTo: string;
  /** Which field the error belongs to: the app's code or a recovery code. */
  errors?: { code?: string; recoveryCode?: string };
  problem?: string;
  /** Offer the recovery code form opened (it was used, or the app's code is not an option). */
  recoveryOpen?: boolean;
  /** Without an app factor (only recovery codes left), the code form is not offered. */
  withCode?: boolean;
  /** The ticket may be finished with a passkey (passkeys.js shows the button; not without JavaScript). */
  withPasskey?: boolean;
}

function stepForm(t: Translator, csrf: string, v: StepView): string {
  const carried = `${csrfInput(csrf)}${hidden('mfa_ticket', v.ticket)}${hidden('redirect_to', v.redirectTo)}`;
  const codeForm =
    v.withCode === false
      ? ''
      : `<form method="post" action="/login/mfa" novalidate>${carried}
${field({ name: 'code', label: t('mfaSignIn.codeLabel'), error: v.errors?.code, autocomplete: 'one-time-code', inputmode: 'numeric', plain: true, required: !v.recoveryOpen, maxlength: 10, hint: t('mfaSignIn.codeHint') })}
<button type="submit">${escapeHtml(t('mfaSignIn.verify'))}</button></form>`;
  const recoveryForm = `<form method="post" action="/login/mfa" novalidate>${carried}
${field({ name: 'recovery_code', label: t('mfaSignIn.recoveryLabel'), error: v.errors?.recoveryCode, autocomplete: 'off', plain: true, maxlength: 64, hint: t('mfaSignIn.recoveryHint') })}
<button type="submit" class="secondary">${escapeHtml(t('mfaSignIn.useRecovery'))}</button></form>`;
  const passkey = v.withPasskey
    ? `<div class="passkey" data-passkey-second-step data-ticket="${escapeHtml(v.ticket)}" data-return-to="${escapeHtml(v.redirectTo)}"${passkeyMessages(t, 'secondStep')} hidden>
<button type="button"${v.withCode === false ? '' : ' class="secondary"'}>${escapeHtml(t('mfaSignIn.usePasskey'))}</button>
<p class="passkey-error" role="alert" data-passkey-error hidden></p></div>`
    : '';
  return `${formError(v.problem)}
<p>${escapeHtml(t('mfaSignIn.lead'))}</p>
${passkey}${codeForm}
<details class="alternative"${v.recoveryOpen || v.withCode === false ? ' open' : ''}><summary>${escapeHtml(t('mfaSignIn.recoveryInstead'))}</summary>
${recoveryForm}</details>
<p><a href="/login">${escapeHtml(t('mfaSignIn.startAgain'))}</a></p>`;
}

export interface MfaStep {
  /** Answers a first step that ended in a challenge: the second-factor form, with no cookie set. */
  show(request: FastifyRequest, reply: FastifyReply, challenge: MfaChallenge, redirectTo: string): Promise<FastifyReply>;
  /** The same form for a ticket a script got (a passkey sign-in without user verification); a dead ticket: sign in again. */
  showTicket(request: FastifyRequest, reply: FastifyReply, mfaTicket: string, redirectTo: string): Promise<FastifyReply>;
}

export function mfaSignInPages(app: App, kit: PageKit): MfaStep {
  const { ctx, pages } = kit;

  /** The ticket's methods, read without using it up; null when it is dead. */
  async function methodsOf(mfaTicket: string) {
    try {
      const ticket = await peekMfaTicket(ctx, mfaTicket);
      return await availableMethods(ctx, ticket.userId, ticket.firstFactorId);
    } catch (err) {
      if (err instanceof AppError && err.code === 'invalid_mfa_ticket') return null;
      throw err;
    }
  }

  const render = async (request: FastifyRequest, reply: FastifyReply, view: StepView, status?: number) => {
    const withPasskey = view.withPasskey ?? (await methodsOf(view.ticket))?.includes('webauthn') ?? false;
    const t = kit.t(request);
    return kit.show(request, reply, null, {
      title: t('mfaSignIn.title'),
      status,
      scripts: withPasskey ? PASSKEY_SCRIPTS : undefined,
      body: (csrf) => stepForm(t, csrf, { ...view, withPasskey }),
    });
  };
  // The app's code form unless only recovery codes or passkeys are left.
  const offered = (methods: string[]) => ({ withCode: methods.includes('totp') || !methods.some((m) => m === 'recovery_code' || m === 'webauthn'), withPasskey: methods.includes('webauthn') });
  const again = (redirectTo: string) => (redirectTo === '/account' ? '/login' : `/login?redirect_to=${encodeURIComponent(redirectTo)}`);

  // 401 a wrong code; 403 the form expired (CSRF) or the account is disabled; 429 too many tries.
  app.post(
    '/login/mfa',
    {
      schema: posts(form({ mfa_ticket: f.mfaTicket, code: f.code, recovery_code: f.recoveryCode, redirect_to: f.redirectTo }, ['code', 'recovery_code', 'redirect_to']), [401, 403], true),
    },
    async (request, reply) => {
      pages.checkCsrf(request);
      const ticket = formField(request.body, 'mfa_ticket', 200);
      const redirectTo = pages.returnTo(formField(request.body, 'redirect_to'));
      const code = formField(request.body, 'code', 64).trim();
      const recoveryCode = formField(request.body, 'recovery_code', 64).trim();
      const usedRecovery = !code && recoveryCode !== '';
      const t = kit.t(request);
      if (!code && !recoveryCode) {
        // Which of the two forms was sent: the recovery one carries its field, even empty.
        const fromRecovery = sent(request.body, 'recovery_code');
        const errors = fromRecovery ? { recoveryCode: t('mfaSignIn.enterRecovery') } : { code: t('mfaSignIn.enterCode') };
        return render(request, reply, { ticket, redirectTo, errors, recoveryOpen: fromRecovery }, 400);
      }
      const proof: SecondFactorProof = usedRecovery ? { recoveryCode } : { code };
      try {
        const result = await completeMfaSignIn(ctx, { mfaTicket: ticket, proof, mode: 'session', deviceCookie: deviceCookieOf(request, ctx.config) }, clientInfo(request));
        answerSignIn(ctx, reply, result, 'session');
        return kit.continueTo(request, reply, redirectTo);
      } catch (err) {
        if (err instanceof AppError && err.code === 'invalid_mfa_ticket') {
          return pages.redirect(reply, again(redirectTo), { kind: 'error', text: t('mfaSignIn.ticketExpired') });
        }
        const shown = refusal(err, reply, t);
        if (!shown) throw err;
        if (err instanceof AppError && err.code === 'invalid_mfa_code') {
          // The service's "The code is wrong[, and that was the last try: sign in again]", said of a recovery code.
          const lastTry = err.message.includes('last try');
          const message = usedRecovery && err.message.startsWith('The code is wrong') ? t(lastTry ? 'mfaSignIn.recoveryWrongLastTry' : 'mfaSignIn.recoveryWrong') : shown.message;
          return render(request, reply, { ticket, redirectTo, errors: usedRecovery ? { recoveryCode: message } : { code: message }, recoveryOpen: usedRecovery }, shown.status);
        }
        return render(request, reply, { ticket, redirectTo, problem: shown.message, recoveryOpen: usedRecovery }, shown.status);
      }
    },
  );

  return {
    show(request, reply, challenge, redirectTo) {
      return render(request, reply, { ticket: challenge.mfaTicket, redirectTo, ...offered(challenge.methods) });
    },
    async showTicket(request, reply, mfaTicket, redirectTo) {
      const methods = await methodsOf(mfaTicket);
      if (!methods) return pages.redirect(reply, again(redirectTo), { kind: 'error', text: kit.t(request)('mfaSignIn.ticketExpired') });
      return render(request, reply, { ticket: mfaTicket, redirectTo, ...offered(methods) });
    },
  };
}
