// The "Passkeys" part of /account: each passkey with its name, when it was added and last used, a rename form
// and a remove button (plain forms: they work without JavaScript; removing needs a recent sign-in and never
// takes the account's last way in), and "Add a passkey", which needs the browser's WebAuthn and so JavaScript:
// passkeys.js shows it and runs the ceremony against the JSON API (the session cookie and X-CSRF-Token).
import type { Factor } from '../../factors/store.ts';
import { escapeHtml } from '../../html.ts';
import { csrfInput, date, field, formError, hidden } from './layout.ts';

export interface PasskeySectionView {
  passkeys: Factor[];
  errors?: Record<string, string>;
  /** The form that came back: `id` tells which passkey's rename form to open again. */
  values?: Record<string, string>;
  message?: string;
}

function row(csrf: string, passkey: Factor, v: PasskeySectionView): string {
  const name = escapeHtml(passkey.name);
  const failed = v.values?.id === passkey.id;
  const kind = passkey.webauthn?.userVerified === false ? ' <span class="tag">security key: needs a second step</span>' : '';
  return `<li><div><strong>${name}</strong>${kind}<br>
<small>added ${date(passkey.createdAt)} · last used ${date(passkey.lastUsedAt)}</small>
<details class="alternative rename"${failed && v.errors?.name ? ' open' : ''}><summary>Rename<span class="visually-hidden"> ${name}</span></summary>
<form method="post" action="/account/passkeys/rename" novalidate>${csrfInput(csrf)}${hidden('id', passkey.id)}
${field({ name: 'name', idPrefix: `passkey-${passkey.id}-`, label: 'New name', value: failed ? v.values?.name : passkey.name, error: failed ? v.errors?.name : undefined, required: true, maxlength: 100 })}
<button type="submit" class="secondary">Save name</button></form></details></div>
<form method="post" action="/account/passkeys/remove">${csrfInput(csrf)}${hidden('id', passkey.id)}<button type="submit" class="danger" aria-label="Remove passkey ${name}" data-confirm="Remove the passkey ${name}? It will no longer sign you in.">Remove</button></form></li>`;
}

export function passkeySection(csrf: string, v: PasskeySectionView): string {
  const list = v.passkeys.length
    ? `<ul class="rows passkeys">${v.passkeys.map((p) => row(csrf, p, v)).join('')}</ul>`
    : '<p>None yet. A passkey signs you in with your fingerprint, face or screen lock: nothing to type, nothing to phish.</p>';
  return `<section aria-labelledby="passkeys-h" id="passkeys"><h2 id="passkeys-h">Passkeys</h2>
${formError(v.message)}
${list}
<h3>Add a passkey</h3>
<p class="hint" data-passkey-needs-script>Adding a passkey needs JavaScript and a browser that supports passkeys.</p>
<div class="passkey" data-passkey-register hidden>
${field({ name: 'passkey_name', label: 'Name for the passkey', maxlength: 100, hint: 'Optional, e.g. "Laptop" or "Phone"' })}
<button type="button" data-passkey-add>Add a passkey</button>
<p class="passkey-error" role="alert" data-passkey-error hidden></p>
<div class="passkey-done" role="status" data-passkey-done hidden><p>The passkey "<span data-passkey-name></span>" is added.</p>
<p>Your recovery codes. Each works once, in place of a passkey or a code from an app, if you lose them; keep them somewhere safe (they are not shown again):</p>
<ul class="passkey-codes"></ul>
<button type="button">I have saved them</button></div>
</div></section>`;
}
