// The e-mails: a text part and an HTML part each, every value escaped in the HTML.
import { escapeHtml } from '../html.ts';
import type { MailMessage } from '../mail/transport.ts';

function hours(ms: number): string {
  const h = ms / 3_600_000;
  if (h >= 1) return `${Math.round(h)} hour${Math.round(h) === 1 ? '' : 's'}`;
  return `${Math.round(ms / 60_000)} minutes`;
}

function html(brand: string, paragraphs: string[], action?: { label: string; link: string }): string {
  const button = action
    ? `<p><a href="${escapeHtml(action.link)}" style="display:inline-block;padding:10px 16px;background:#1f4fd8;color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(action.label)}</a></p>
<p style="color:#555;font-size:13px">Or paste this link into your browser:<br>${escapeHtml(action.link)}</p>`
    : '';
  return `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111">
<h2>${escapeHtml(brand)}</h2>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${button}
</body></html>`;
}

export function verificationMail(to: string, brand: string, link: string, ttlMs: number): MailMessage {
  const lines = [`Confirm that ${to} is your email address for ${brand}.`, `The link works once and expires in ${hours(ttlMs)}.`];
  return {
    to,
    subject: `Confirm your email address for ${brand}`,
    text: `${lines.join('\n\n')}\n\n${link}\n\nIf you did not create an account, ignore this message.\n`,
    html: html(brand, [...lines, 'If you did not create an account, ignore this message.'], { label: 'Confirm email address', link }),
  };
}

export function resetMail(to: string, brand: string, link: string, ttlMs: number): MailMessage {
  const lines = [`Someone asked to reset the password of your ${brand} account.`, `The link works once and expires in ${hours(ttlMs)}.`];
  return {
    to,
    subject: `Reset your ${brand} password`,
    text: `${lines.join('\n\n')}\n\n${link}\n\nIf it was not you, ignore this message: your password stays as it is.\n`,
    html: html(brand, [...lines, 'If it was not you, ignore this message: your password stays as it is.'], { label: 'Choose a new password', link }),
  };
}

/**
 * After a change (signed in, knowing the old password) the session that changed it stays signed in; after a
 * reset by e-mail every session ends. The notice says which.
 */
export function passwordChangedMail(to: string, brand: string, when: Date, how: 'changed' | 'reset'): MailMessage {
  const ended = how === 'reset' ? 'every session was signed out' : 'every other session was signed out; the one that changed it stays signed in';
  const lines = [
    `The password of your ${brand} account was ${how} on ${when.toUTCString()}, and ${ended}.`,
    'If this was not you, reset your password at once and contact your administrator.',
  ];
  return { to, subject: `Your ${brand} password was changed`, text: `${lines.join('\n\n')}\n`, html: html(brand, lines) };
}

/** A short security notice: one subject, a few lines, and at most one button. */
export function noticeMail(to: string, brand: string, subject: string, lines: string[], action?: { label: string; link: string }): MailMessage {
  const text = `${lines.join('\n\n')}\n${action ? `\n${action.label}: ${action.link}\n` : ''}`;
  return { to, subject: `${subject} (${brand})`, text, html: html(brand, lines, action) };
}
