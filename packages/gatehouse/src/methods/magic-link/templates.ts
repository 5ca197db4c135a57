// The sign-in e-mail: the link (on PUBLIC_URL) and the same sign-in as a 6-digit code, for another device.
import type { Translator } from '../../i18n/index.ts';
import type { MailMessage } from '../../mail/transport.ts';
import { noticeMail } from '../../recovery/templates.ts';

export function magicLinkMail(t: Translator, to: string, brand: string, link: string, code: string, ttlMs: number, newAccount: boolean): MailMessage {
  const minutes = Math.round(ttlMs / 60_000);
  const lines = [
    newAccount ? t('mail.magicLink.newAccount', { brand, email: to }) : t('mail.magicLink.existing', { brand }),
    t('mail.magicLink.code', { code }),
    t('mail.magicLink.expires', { duration: t.plural('mail.minutes', minutes) }),
  ];
  const subject = t('mail.magicLink.subject', { brand });
  return { ...noticeMail(t, to, brand, subject, lines, { label: t('mail.magicLink.button'), link }), subject };
}
