// The HTML around every page, and the pieces forms are made of. Every value goes through escapeHtml;
// there is no inline script or style anywhere, so the pages' CSP can forbid both.
import type { FastifyReply } from 'fastify';
import type { Config } from '../../config.ts';
import { escapeHtml } from '../../html.ts';
import type { FieldError } from '../../errors.ts';
import { LOCALE_NAMES, LOCALES, type Translator } from '../../i18n/index.ts';

export const CSRF_FIELD = '_csrf';

export interface Viewer {
  name: string;
  role: string;
}

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
  /** An API key, shown once right after it was made. */
  secret?: string;
  /** Recovery codes, shown once right after they were made. */
  codes?: string[];
}

export interface PageParts {
  title: string;
  body: string;
  viewer?: Viewer | null;
  flash?: Flash | null;
  status?: number;
  csrfToken: string;
  /** Same-origin scripts this page needs besides gatehouse.js (the passkey pages'), loaded deferred in order. */
  scripts?: readonly string[];
  /** A same-origin path or our own URL to go on to at once (a meta refresh: a new navigation, not a form's redirect). */
  refreshTo?: string;
  /** The page's language. */
  t: Translator;
  /** This page's path and query, where the language switch comes back to. */
  path: string;
}

/** Strict for pages: scripts and styles only from our own files, forms only to us or an allow-listed app. */
export function pagePolicy(config: Config): string {
  const targets = new Set(config.oauthRedirectAllowlist.map((u) => new URL(u).origin));
  targets.delete(new URL(config.publicUrl).origin);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    // Chromium applies form-action to the redirect after a POST too, so the sign-in's redirect_to targets are listed.
    `form-action 'self'${[...targets].map((t) => ` ${t}`).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join('; ');
}

export function render(reply: FastifyReply, config: Config, assetVersion: string, parts: PageParts): FastifyReply {
  const { t } = parts;
  const brand = escapeHtml(config.brandName);
  const nav = parts.viewer
    ? `<nav aria-label="${escapeHtml(t('layout.navLabel'))}"><a href="/account">${escapeHtml(parts.viewer.name)}</a>${parts.viewer.role === 'admin' ? ` <a href="/admin">${escapeHtml(t('layout.admin'))}</a>` : ''}
<form method="post" action="/logout" class="inline">${csrfInput(parts.csrfToken)}<button type="submit" class="link">${escapeHtml(t('layout.signOut'))}</button></form></nav>`
    : `<nav aria-label="${escapeHtml(t('layout.navLabel'))}"><a href="/login">${escapeHtml(t('layout.signIn'))}</a> <a href="/register">${escapeHtml(t('layout.register'))}</a></nav>`;
  return reply
    .status(parts.status ?? 200)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-language', t.locale)
    .header('vary', 'Accept-Language, Cookie')
    // Reset and verification links carry their token in the URL: never hand it to another site.
    .header('referrer-policy', 'no-referrer')
    .send(`<!doctype html>
<html lang="${t.locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(parts.title)} · ${brand}</title>
${parts.refreshTo ? `<meta http-equiv="refresh" content="0;url=${escapeHtml(parts.refreshTo)}">\n` : ''}<link rel="stylesheet" href="/assets/gatehouse.css?v=${assetVersion}">
<script src="/assets/gatehouse.js?v=${assetVersion}" defer></script>
${(parts.scripts ?? []).map((src) => `<script src="${escapeHtml(src)}?v=${assetVersion}" defer></script>\n`).join('')}</head><body>
<header class="top"><a class="brand" href="/account">${brand}</a>${nav}</header>
<main id="main">
<h1>${escapeHtml(parts.title)}</h1>
${parts.flash ? flashBox(parts.flash, t) : ''}
${parts.body}
</main>
${languageSwitch(parts)}
</body></html>`);
}

/** One button per other language; a plain form, so it works without JavaScript and returns to this page. */
function languageSwitch(parts: PageParts): string {
  const { t } = parts;
  const buttons = LOCALES.filter((l) => l !== t.locale)
    .map((l) => `<button type="submit" name="lang" value="${l}" lang="${l}" class="link">${escapeHtml(LOCALE_NAMES[l])}</button>`)
    .join(' ');
  return `<footer class="languages"><form method="post" action="/language" class="inline">${csrfInput(parts.csrfToken)}${hidden('return_to', parts.path)}<span>${escapeHtml(t('layout.language'))}: <strong lang="${t.locale}">${escapeHtml(LOCALE_NAMES[t.locale])}</strong></span> ${buttons}</form></footer>`;
}

function flashBox(flash: Flash, t: Translator): string {
  const secret = flash.secret
    ? `<p><label for="new-secret">${escapeHtml(t('layout.copySecret'))}</label><input id="new-secret" class="secret" readonly value="${escapeHtml(flash.secret)}"></p>`
    : '';
  const codes = flash.codes?.length
    ? `<p id="recovery-codes-h">${escapeHtml(t('layout.recoveryCodes'))}</p>
<ul class="codes" aria-labelledby="recovery-codes-h">${flash.codes.map((c) => `<li><code>${escapeHtml(c)}</code></li>`).join('')}</ul>`
    : '';
  return `<div class="flash ${flash.kind}" role="${flash.kind === 'error' ? 'alert' : 'status'}"><p>${escapeHtml(flash.text)}</p>${secret}${codes}</div>`;
}

export function csrfInput(token: string): string {
  return `<input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(token)}">`;
}

export function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
}

/** A problem with the whole form (wrong password, too many tries), announced to screen readers. */
export function formError(message: string | undefined): string {
  return message ? `<p class="form-error" role="alert">${escapeHtml(message)}</p>` : '';
}

export interface FieldOptions {
  name: string;
  label: string;
  type?: 'text' | 'email' | 'password' | 'search';
  value?: string;
  error?: string;
  autocomplete?: string;
  required?: boolean;
  hint?: string;
  /** Several forms on one page: ids must stay unique. */
  idPrefix?: string;
  maxlength?: number;
  minlength?: number;
  /** `numeric` brings up the digits keyboard for one-time codes. */
  inputmode?: 'numeric' | 'text';
  /** Off for codes and secrets: no spelling fixes, no capitals. */
  plain?: boolean;
}

/** A labelled input; its error sits right under it and is tied to it with aria-describedby. */
export function field(o: FieldOptions): string {
  const id = `${o.idPrefix ?? ''}${o.name}`;
  const described = [o.hint ? `${id}-hint` : '', o.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  const type = o.type ?? 'text';
  // Passwords never come back, whatever was typed.
  const value = type === 'password' || o.value === undefined ? '' : ` value="${escapeHtml(o.value)}"`;
  return `<div class="field${o.error ? ' invalid' : ''}">
<label for="${id}">${escapeHtml(o.label)}</label>
${o.hint ? `<p class="hint" id="${id}-hint">${escapeHtml(o.hint)}</p>` : ''}<input id="${id}" name="${escapeHtml(o.name)}" type="${type}"${value}${o.autocomplete ? ` autocomplete="${o.autocomplete}"` : ''}${o.required ? ' required' : ''}${o.maxlength ? ` maxlength="${o.maxlength}"` : ''}${o.minlength ? ` minlength="${o.minlength}"` : ''}${o.inputmode ? ` inputmode="${o.inputmode}"` : ''}${o.plain ? ' autocapitalize="off" spellcheck="false"' : ''}${o.error ? ' aria-invalid="true"' : ''}${described ? ` aria-describedby="${described}"` : ''}>
${o.error ? `<p class="field-error" id="${id}-error">${escapeHtml(o.error)}</p>` : ''}</div>`;
}

/** Field errors by field name, from a validation error's details, in the page's language. */
export function errorsByField(t: Translator, details: FieldError[] | undefined, rename: Record<string, string> = {}): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const d of details ?? []) {
    const name = rename[d.field] ?? d.field;
    errors[name] ??= t.server(d.message);
  }
  return errors;
}

/** A moment for people, in the page's language, with the exact instant for machines. */
export function date(t: Translator, ms: number | string | null): string {
  if (ms === null) return '–';
  const d = new Date(ms);
  return `<time datetime="${d.toISOString()}">${escapeHtml(t.dateTime(d))}</time>`;
}
