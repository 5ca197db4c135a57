// What the owner is told when their second factors change: every change arrives by e-mail, so a takeover that
// adds or removes a factor cannot stay silent. In the owner's language (users.locale, else DEFAULT_LOCALE).
import type { Context } from '../context.ts';
import type { Translator } from '../i18n/index.ts';
import { mailTranslator } from '../i18n/mail-locale.ts';
import { noticeMail } from '../recovery/templates.ts';
import type { User } from '../users/store.ts';

function send(ctx: Context, user: User, notice: (t: Translator, date: string) => { subject: string; lines: string[] }): void {
  const t = mailTranslator(ctx, user);
  const { subject, lines } = notice(t, t.dateTime(ctx.now()));
  const action = { label: t('mail.notice.openAccount'), link: `${ctx.config.publicUrl}/account` };
  ctx.background.run('security notice', () => ctx.mailer.send(noticeMail(t, user.email, ctx.config.brandName, subject, [...lines, t('mail.notice.ifNotYou')], action)));
}

export function factorAddedNotice(ctx: Context, user: User, name: string): void {
  send(ctx, user, (t, date) => ({ subject: t('mail.factorAdded.subject'), lines: [t('mail.factorAdded.body', { name, date })] }));
}

export function factorRemovedNotice(ctx: Context, user: User, name: string, by: 'you' | 'admin'): void {
  send(ctx, user, (t, date) => ({
    subject: t('mail.factorRemoved.subject'),
    lines: [by === 'admin' ? t('mail.factorRemoved.byAdmin', { name, date }) : t('mail.factorRemoved.byYou', { name, date })],
  }));
}

export function recoveryCodeUsedNotice(ctx: Context, user: User, left: number): void {
  send(ctx, user, (t, date) => ({
    subject: t('mail.recoveryCodeUsed.subject'),
    lines: [t.plural('mail.recoveryCodeUsed.body', left, { date }), left <= 2 ? t('mail.recoveryCodeUsed.low') : t('mail.recoveryCodeUsed.eachOnce')],
  }));
}

export function recoveryCodesRegeneratedNotice(ctx: Context, user: User): void {
  send(ctx, user, (t, date) => ({ subject: t('mail.recoveryCodesRegenerated.subject'), lines: [t('mail.recoveryCodesRegenerated.body', { date })] }));
}
