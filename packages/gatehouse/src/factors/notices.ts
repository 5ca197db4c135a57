// What the owner is told when their second factors change: every change arrives by e-mail, so a takeover that
// adds or removes a factor cannot stay silent.
import type { Context } from '../context.ts';
import { noticeMail } from '../recovery/templates.ts';
import type { User } from '../users/store.ts';

const IF_NOT_YOU = 'If this was not you, change your password now and review your sign-in methods on your account page.';

function send(ctx: Context, user: User, subject: string, lines: string[]): void {
  ctx.background.run('security notice', () => ctx.mailer.send(noticeMail(user.email, ctx.config.brandName, subject, lines, { label: 'Open your account', link: `${ctx.config.publicUrl}/account` })));
}

export function factorAddedNotice(ctx: Context, user: User, name: string): void {
  send(ctx, user, 'A second factor was added', [`"${name}" was added as a second factor of your account on ${new Date(ctx.now()).toUTCString()}.`, IF_NOT_YOU]);
}

export function factorRemovedNotice(ctx: Context, user: User, name: string, by: 'you' | 'admin'): void {
  const who = by === 'admin' ? 'an administrator removed' : 'was removed from';
  const line = by === 'admin' ? `On ${new Date(ctx.now()).toUTCString()} ${who} "${name}" from your account.` : `"${name}" ${who} your account on ${new Date(ctx.now()).toUTCString()}.`;
  send(ctx, user, 'A second factor was removed', [line, IF_NOT_YOU]);
}

export function recoveryCodeUsedNotice(ctx: Context, user: User, left: number): void {
  send(ctx, user, 'A recovery code was used', [
    `A recovery code was used to sign in to your account on ${new Date(ctx.now()).toUTCString()}. ${left} of your codes ${left === 1 ? 'is' : 'are'} left.`,
    left <= 2 ? 'Make a new set on your account page before you run out.' : 'Each code works once.',
    IF_NOT_YOU,
  ]);
}

export function recoveryCodesRegeneratedNotice(ctx: Context, user: User): void {
  send(ctx, user, 'New recovery codes were made', [`A new set of recovery codes was made for your account on ${new Date(ctx.now()).toUTCString()}; the old codes no longer work.`, IF_NOT_YOU]);
}
