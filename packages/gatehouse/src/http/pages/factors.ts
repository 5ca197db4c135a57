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
import { csrfInput, date, field, formError, hidden } from './layout.ts';

export const ENROL_TITLE = 'Add an authenticator app';

const FACTOR_KIND: Record<string, string> = { totp: 'Authenticator app', webauthn: 'Passkey' };

export interface FactorSectionView {
  factors: Factor[];
  recoveryCodesLeft: number;
  errors?: Record<string, string>;
  values?: Record<string, string>;
  message?: string;
  /** MFA_REQUIRED_ROLES: the notice above everything else. */
  notice?: string;
}

export function factorSection(csrf: string, v: FactorSectionView): string {
  // Passkeys are factors too, but they are listed (and renamed, removed) in their own part of the page.
  const apps = v.factors.filter((x) => x.type !== 'webauthn');
  const list =
    v.factors.length === 0
      ? '<p>Off. With an authenticator app, a stolen password alone cannot open your account.</p>'
      : `<p>On. ${apps.length ? 'Signing in asks for a code after your password.' : 'Signing in with your password asks for a passkey too (see Passkeys below).'}</p>
<ul class="rows factors">${apps
          .map(
            (x) => `<li><div><strong>${escapeHtml(x.name)}</strong> <span class="tag">${escapeHtml(FACTOR_KIND[x.type] ?? x.type)}</span><br>
<small>added ${date(x.confirmedAt ?? x.createdAt)} · last used ${date(x.lastUsedAt)}</small></div>
<form method="post" action="/account/mfa/remove">${csrfInput(csrf)}${hidden('id', x.id)}<button type="submit" class="danger" aria-label="Remove ${escapeHtml(x.name)}" data-confirm="Remove ${escapeHtml(x.name)}? It will no longer work for signing in.">Remove</button></form></li>`,
          )
          .join('')}</ul>
<h3>Recovery codes</h3>
<p>${v.recoveryCodesLeft === 0 ? '<strong>No recovery codes left.</strong>' : `${v.recoveryCodesLeft} recovery code${v.recoveryCodesLeft === 1 ? '' : 's'} left.`} Each works once, in place of a code from the app, if you lose it.</p>
<form method="post" action="/account/mfa/recovery-codes">${csrfInput(csrf)}<button type="submit" class="secondary" data-confirm="Make new recovery codes? The ones you have now stop working.">Make new codes</button></form>`;
  return `<section aria-labelledby="mfa-h" id="mfa"><h2 id="mfa-h">Two-step verification</h2>
${v.notice ? `<p class="form-error" role="alert">${escapeHtml(v.notice)}</p>` : ''}${formError(v.message)}
${list}
<h3>${ENROL_TITLE}</h3>
<form method="post" action="/account/mfa/totp" novalidate>${csrfInput(csrf)}
${field({ name: 'name', idPrefix: 'totp-', label: 'Name for the app', value: v.values?.name, error: v.errors?.name, maxlength: 100, hint: 'Optional, e.g. "Phone"' })}
<button type="submit">Add an authenticator app</button></form></section>`;
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
export async function qrSvg(otpauthUrl: string): Promise<string> {
  const svg = await QRCode.toString(otpauthUrl, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
  return svg.replace('<svg ', '<svg role="img" aria-label="QR code to scan with your authenticator app" ');
}

/** The key in groups of four, as apps show it; spaces are ignored when typed. */
export function groupedSecret(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

export function enrolBody(csrf: string, v: { id: string; pending: PendingEnrolment; svg: string; error?: string }): string {
  return `<section aria-labelledby="scan-h"><h2 id="scan-h">1. Scan the code</h2>
<p>Open your authenticator app (Google Authenticator, 1Password, Aegis, …), add an account and scan:</p>
<div class="qr">${v.svg}</div>
<p>Can't scan it? Add the account by hand with this key (time-based, 6 digits):</p>
<p><code class="secret totp-key" id="totp-secret">${escapeHtml(groupedSecret(v.pending.secret))}</code></p></section>
<section aria-labelledby="confirm-h"><h2 id="confirm-h">2. Enter the code it shows</h2>
<form method="post" action="/account/mfa/totp/confirm" novalidate>${csrfInput(csrf)}${hidden('id', v.id)}
${field({ name: 'code', label: 'Code from the app', error: v.error, autocomplete: 'one-time-code', inputmode: 'numeric', plain: true, required: true, maxlength: 10, hint: `6 digits; this adds "${v.pending.name}" to your account` })}
<button type="submit">Add this app</button></form>
<p><a href="/account#mfa">Cancel</a></p></section>`;
}
