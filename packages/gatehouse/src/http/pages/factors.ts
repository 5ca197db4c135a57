// The "Two-step verification" part of /account: the factors with their remove buttons, the recovery codes
// left, and adding an authenticator app (a QR code drawn as inline SVG markup, which the CSP allows as it is
// no script, no style and no data: URL, plus the key to type by hand, then a code to prove the app has it).
import QRCode from 'qrcode';
import type { Context } from '../../context.ts';
import { sha256 } from '../../crypto/random.ts';
import { Sealer } from '../../crypto/seal.ts';
import { PENDING_FACTOR_TTL_MS } from '../../factors/service.ts';
import type { Factor } from '../../factors/store.ts';
import { escapeHtml } from '../../html.ts';
import type { MessageKey, Translator } from '../../i18n/index.ts';
import { csrfInput, date, field, formError, hidden } from './layout.ts';
import { markup, tHtml } from './markup.ts';

const FACTOR_KIND: Record<string, MessageKey> = { totp: 'factors.kind.totp', webauthn: 'factors.kind.webauthn' };

export interface FactorSectionView {
  factors: Factor[];
  recoveryCodesLeft: number;
  errors?: Record<string, string>;
  values?: Record<string, string>;
  message?: string;
  /** MFA_REQUIRED_ROLES: the notice above everything else. */
  notice?: string;
}

export function factorSection(t: Translator, csrf: string, v: FactorSectionView): string {
  // Passkeys are factors too, but they are listed (and renamed, removed) in their own part of the page.
  const apps = v.factors.filter((x) => x.type !== 'webauthn');
  const kind = (type: string) => (FACTOR_KIND[type] ? t(FACTOR_KIND[type]) : type);
  const list =
    v.factors.length === 0
      ? `<p>${escapeHtml(t('factors.off'))}</p>`
      : `<p>${escapeHtml(t(apps.length ? 'factors.onWithApps' : 'factors.onPasskeysOnly'))}</p>
<ul class="rows factors">${apps
          .map(
            (x) => `<li><div><strong>${escapeHtml(x.name)}</strong> <span class="tag">${escapeHtml(kind(x.type))}</span><br>
<small>${tHtml(t, 'factors.details', { added: markup(date(t, x.confirmedAt ?? x.createdAt)), lastUsed: markup(date(t, x.lastUsedAt)) })}</small></div>
<form method="post" action="/account/mfa/remove">${csrfInput(csrf)}${hidden('id', x.id)}<button type="submit" class="danger" aria-label="${escapeHtml(t('factors.removeLabel', { name: x.name }))}" data-confirm="${escapeHtml(t('factors.removeConfirm', { name: x.name }))}">${escapeHtml(t('factors.remove'))}</button></form></li>`,
          )
          .join('')}</ul>
<h3>${escapeHtml(t('factors.recovery.heading'))}</h3>
<p>${v.recoveryCodesLeft === 0 ? `<strong>${escapeHtml(t('factors.recovery.none'))}</strong>` : escapeHtml(t.plural('factors.recovery.left', v.recoveryCodesLeft))} ${escapeHtml(t('factors.recovery.explain'))}</p>
<form method="post" action="/account/mfa/recovery-codes">${csrfInput(csrf)}<button type="submit" class="secondary" data-confirm="${escapeHtml(t('factors.recovery.confirm'))}">${escapeHtml(t('factors.recovery.make'))}</button></form>`;
  return `<section aria-labelledby="mfa-h" id="mfa"><h2 id="mfa-h">${escapeHtml(t('factors.heading'))}</h2>
${v.notice ? `<p class="form-error" role="alert">${escapeHtml(v.notice)}</p>` : ''}${formError(v.message)}
${list}
<h3>${escapeHtml(t('factors.enrolTitle'))}</h3>
<form method="post" action="/account/mfa/totp" novalidate>${csrfInput(csrf)}
${field({ name: 'name', idPrefix: 'totp-', label: t('factors.nameLabel'), value: v.values?.name, error: v.errors?.name, maxlength: 100, hint: t('factors.nameHint') })}
<button type="submit">${escapeHtml(t('factors.add'))}</button></form></section>`;
}

/** What the enrolment page shows until the code is confirmed: kept server-side, sealed, for this session only. */
export interface PendingEnrolment {
  secret: string;
  otpauthUrl: string;
  name: string;
}

export class PendingEnrolments {
  private readonly sealer: Sealer;

  constructor(private readonly ctx: Context) {
    this.sealer = new Sealer(ctx.config.secret, 'page-totp-enrolment', 'a pending TOTP enrolment');
  }

  private key(sessionId: string, factorId: string): string {
    return `page:enrol:${sha256(`${sessionId}:${factorId}`)}`;
  }

  async put(sessionId: string, factorId: string, pending: PendingEnrolment): Promise<void> {
    const sealed = this.sealer.seal(JSON.stringify(pending), `${sessionId}:${factorId}`);
    await this.ctx.state.put(this.key(sessionId, factorId), sealed, PENDING_FACTOR_TTL_MS);
  }

  async get(sessionId: string, factorId: string): Promise<PendingEnrolment | null> {
    const sealed = await this.ctx.state.get(this.key(sessionId, factorId));
    return sealed ? (JSON.parse(this.sealer.open(sealed, `${sessionId}:${factorId}`)) as PendingEnrolment) : null;
  }

  delete(sessionId: string, factorId: string): Promise<void> {
    return this.ctx.state.delete(this.key(sessionId, factorId));
  }
}

/** The QR code as SVG markup (paths and presentation attributes only), labelled for screen readers. */
export async function qrSvg(t: Translator, otpauthUrl: string): Promise<string> {
  const svg = await QRCode.toString(otpauthUrl, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
  return svg.replace('<svg ', () => `<svg role="img" aria-label="${escapeHtml(t('factors.qrLabel'))}" `);
}

/** The key in groups of four, as apps show it; spaces are ignored when typed. */
export function groupedSecret(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

export function enrolBody(t: Translator, csrf: string, v: { id: string; pending: PendingEnrolment; svg: string; error?: string }): string {
  return `<section aria-labelledby="scan-h"><h2 id="scan-h">${escapeHtml(t('factors.scan.heading'))}</h2>
<p>${escapeHtml(t('factors.scan.open'))}</p>
<div class="qr">${v.svg}</div>
<p>${escapeHtml(t('factors.scan.byHand'))}</p>
<p><code class="secret totp-key" id="totp-secret">${escapeHtml(groupedSecret(v.pending.secret))}</code></p></section>
<section aria-labelledby="confirm-h"><h2 id="confirm-h">${escapeHtml(t('factors.confirm.heading'))}</h2>
<form method="post" action="/account/mfa/totp/confirm" novalidate>${csrfInput(csrf)}${hidden('id', v.id)}
${field({ name: 'code', label: t('factors.confirm.code'), error: v.error, autocomplete: 'one-time-code', inputmode: 'numeric', plain: true, required: true, maxlength: 10, hint: t('factors.confirm.hint', { name: v.pending.name }) })}
<button type="submit">${escapeHtml(t('factors.confirm.submit'))}</button></form>
<p><a href="/account#mfa">${escapeHtml(t('factors.confirm.cancel'))}</a></p></section>`;
}
