// The sign-in e-mail: the link (on PUBLIC_URL) and the same sign-in as a 6-digit code, for another device.
import type { MailMessage } from '../../mail/transport.ts';
import { noticeMail } from '../../recovery/templates.ts';

export function magicLinkMail(to: string, brand: string, link: string, code: string, ttlMs: number, newAccount: boolean): MailMessage {
  const minutes = Math.round(ttlMs / 60_000);
  const lines = [
    newAccount ? `Someone asked to create a ${brand} account for ${to} and sign in.` : `Someone asked to sign in to your ${brand} account.`,
    `Open the link below, or enter this code where you asked: ${code}`,
    `Both work once and expire in ${minutes} minutes. If it was not you, ignore this message: nothing happens without the link or the code.`,
  ];
  const mail = noticeMail(to, brand, newAccount ? 'Create your account and sign in' : 'Your sign-in link', lines, { label: 'Sign in', link });
  return { ...mail, subject: `Sign in to ${brand}` };
}
