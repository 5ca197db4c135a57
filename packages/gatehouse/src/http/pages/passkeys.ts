// The "Passkeys" part of /account: each passkey with its name, when it was added and last used, a rename form
// and a remove button (plain forms: they work without JavaScript; removing needs a recent sign-in and never
// takes the account's last way in), and "Add a passkey", which needs the browser's WebAuthn and so JavaScript:
// passkeys.js shows it and runs the ceremony against the JSON API (the session cookie and X-CSRF-Token).
import type { Factor } from '../../factors/store.ts';
import { escapeHtml } from '../../html.ts';
import type { Translator } from '../../i18n/index.ts';
import { csrfInput, date, field, formError, hidden } from './layout.ts';
import { markup, tHtml } from './markup.ts';
import { passkeyMessages } from './passkey-messages.ts';

export interface PasskeySectionView {
  passkeys: Factor[];
  errors?: Record<string, string>;
  /** The form that came back: `id` tells which passkey's rename form to open again. */
  values?: Record<string, string>;
  message?: string;
}

function row(t: Translator, csrf: string, passkey: Factor, v: PasskeySectionView): string {
  const name = escapeHtml(passkey.name);
  const failed = v.values?.id === passkey.id;
  const kind = passkey.webauthn?.userVerified === false ? ` <span class="tag">${escapeHtml(t('passkeys.securityKeyTag'))}</span>` : '';
  return `<li><div><strong>${name}</strong>${kind}<br>
<small>${tHtml(t, 'passkeys.details', { added: markup(date(t, passkey.createdAt)), lastUsed: markup(date(t, passkey.lastUsedAt)) })}</small>
<details class="alternative rename"${failed && v.errors?.name ? ' open' : ''}><summary>${escapeHtml(t('passkeys.rename'))}<span class="visually-hidden"> ${name}</span></summary>
<form method="post" action="/account/passkeys/rename" novalidate>${csrfInput(csrf)}${hidden('id', passkey.id)}
${field({ name: 'name', idPrefix: `passkey-${passkey.id}-`, label: t('passkeys.newName'), value: failed ? v.values?.name : passkey.name, error: failed ? v.errors?.name : undefined, required: true, maxlength: 100 })}
<button type="submit" class="secondary">${escapeHtml(t('passkeys.saveName'))}</button></form></details></div>
<form method="post" action="/account/passkeys/remove">${csrfInput(csrf)}${hidden('id', passkey.id)}<button type="submit" class="danger" aria-label="${escapeHtml(t('passkeys.removeLabel', { name: passkey.name }))}" data-confirm="${escapeHtml(t('passkeys.removeConfirm', { name: passkey.name }))}">${escapeHtml(t('passkeys.remove'))}</button></form></li>`;
}

export function passkeySection(t: Translator, csrf: string, v: PasskeySectionView): string {
  const list = v.passkeys.length
    ? `<ul class="rows passkeys">${v.passkeys.map((p) => row(t, csrf, p, v)).join('')}</ul>`
    : `<p>${escapeHtml(t('passkeys.none'))}</p>`;
  return `<section aria-labelledby="passkeys-h" id="passkeys"><h2 id="passkeys-h">${escapeHtml(t('passkeys.heading'))}</h2>
${formError(v.message)}
${list}
<h3>${escapeHtml(t('passkeys.add.heading'))}</h3>
<p class="hint" data-passkey-needs-script>${escapeHtml(t('passkeys.add.needsScript'))}</p>
<div class="passkey" data-passkey-register${passkeyMessages(t, 'register')} hidden>
${field({ name: 'passkey_name', label: t('passkeys.add.nameLabel'), maxlength: 100, hint: t('passkeys.add.nameHint') })}
<button type="button" data-passkey-add>${escapeHtml(t('passkeys.add.submit'))}</button>
<p class="passkey-error" role="alert" data-passkey-error hidden></p>
<div class="passkey-done" role="status" data-passkey-done hidden><p>${tHtml(t, 'passkeys.added', { name: markup('<span data-passkey-name></span>') })}</p>
<p>${escapeHtml(t('passkeys.recoveryCodes'))}</p>
<ul class="passkey-codes"></ul>
<button type="button">${escapeHtml(t('passkeys.savedThem'))}</button></div>
</div></section>`;
}
