// The e-mails: a text part and an HTML part each, every value escaped in the HTML, in the recipient's language
// (the translator comes from i18n/mail-locale.ts: the user's choice, else the requester's, else DEFAULT_LOCALE).
import { escapeHtml } from '../html.ts';
import type { Translator } from '../i18n/index.ts';
import type { MailMessage } from '../mail/transport.ts';

export interface MailAction {
  label: string;
  link: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A link's lifetime: whole hours, or minutes under an hour. */
export function hours(t: Translator, ms: number): string {
  const h = ms / HOUR;
  if (h >= 1) return t.plural('mail.hours', Math.round(h));
  return t.plural('mail.minutes', Math.round(ms / 60_000));
}

/** Days from two days up, else hours, else minutes. */
export function hoursOrDays(t: Translator, ms: number): string {
  return ms >= 2 * DAY ? t.plural('mail.days', Math.round(ms / DAY)) : hours(t, ms);
}

/** A device as deviceOf() names it ("Chrome on Windows", "unknown"), in the mail's language. */
export function deviceName(t: Translator, device: string | null): string {
  if (device === null || device === 'unknown') return t('mail.unknown');
  const on = /^(.+) on (.+)$/.exec(device);
  return on ? t('mail.deviceOn', { browser: on[1]!, system: on[2]! }) : device;
}

function html(t: Translator, brand: string, paragraphs: string[], action?: MailAction): string {
  const button = action
    ? `<p><a href="${escapeHtml(action.link)}" style="display:inline-block;padding:10px 16px;background:#1f4fd8;color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(action.label)}</a></p>
<p style="color:#555;font-size:13px">${escapeHtml(t('mail.pasteLink'))}<br>${escapeHtml(action.link)}</p>`
    : '';
  return `<!doctype html><html lang="${t.locale}"><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111">
<h2>${escapeHtml(brand)}</h2>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${button}
</body></html>`;
}

export function verificationMail(t: Translator, to: string, brand: string, link: string, ttlMs: number): MailMessage {
  const lines = [t('mail.verify.intro', { email: to, brand }), t('mail.linkExpires', { duration: hours(t, ttlMs) })];
  const ignore = t('mail.verify.ignore');
  return {
    to,
    subject: t('mail.verify.subject', { brand }),
    text: `${lines.join('\n\n')}\n\n${link}\n\n${ignore}\n`,
    html: html(t, brand, [...lines, ignore], { label: t('mail.verify.button'), link }),
  };
}

export function resetMail(t: Translator, to: string, brand: string, link: string, ttlMs: number): MailMessage {
  const lines = [t('mail.reset.intro', { brand }), t('mail.linkExpires', { duration: hours(t, ttlMs) })];
  const ignore = t('mail.reset.ignore');
  return {
    to,
    subject: t('mail.reset.subject', { brand }),
    text: `${lines.join('\n\n')}\n\n${link}\n\n${ignore}\n`,
    html: html(t, brand, [...lines, ignore], { label: t('mail.reset.button'), link }),
  };
}

/**
 * After a change (signed in, knowing the old password) the session that changed it stays signed in; after a
 * reset by e-mail every session ends. The notice says which.
 */
export function passwordChangedMail(t: Translator, to: string, brand: string, when: Date | number, how: 'changed' | 'reset'): MailMessage {
  const date = t.dateTime(when);
  const lines = [
    how === 'reset' ? t('mail.passwordChanged.reset', { brand, date }) : t('mail.passwordChanged.changed', { brand, date }),
    t('mail.passwordChanged.ifNotYou'),
  ];
  return { to, subject: t('mail.passwordChanged.subject', { brand }), text: `${lines.join('\n\n')}\n`, html: html(t, brand, lines) };
}

/** A short security notice: one subject, a few lines, and at most one button. */
export function noticeMail(t: Translator, to: string, brand: string, subject: string, lines: string[], action?: MailAction): MailMessage {
  const text = `${lines.join('\n\n')}\n${action ? `\n${t('mail.actionLine', { label: action.label, link: action.link })}\n` : ''}`;
  return { to, subject: t('mail.notice.subject', { subject, brand }), text, html: html(t, brand, lines, action) };
}
