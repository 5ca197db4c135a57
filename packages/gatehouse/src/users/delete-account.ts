// Erasing an account (GDPR art. 17), by its owner (DELETE /auth/me) or an admin (DELETE /admin/users/:id).
// Every row of the user goes in one unit of work: the users row, and with it (foreign keys, on delete cascade)
// sessions and their refresh tokens, one-time tokens, identities, API keys, factors, recovery codes and a
// pending factor reset. The audit trail stays whole but no longer names the person: the user's id becomes a
// stable pseudonym (an HMAC under a key of GATEHOUSE_SECRET, so an operator who knows an old id can still find
// its events, and nobody else can link them), and the events about them lose addresses, IPs and user agents.
import { auditEvent } from '../audit/service.ts';
import type { AuditEvent } from '../audit/store.ts';
import type { ClientInfo, Context, Stores } from '../context.ts';
import { deriveKey, hmac } from '../crypto/random.ts';
import { AppError } from '../errors.ts';
import type { Locale } from '../i18n/index.ts';
import { mailTranslator } from '../i18n/mail-locale.ts';
import { noticeMail } from '../recovery/templates.ts';
import { endUserSessions } from '../sessions/service.ts';
import type { User } from './store.ts';

/** Events rewritten per read while erasing. */
const AUDIT_BATCH = 500;
const ERASED = '[erased]';

/** The stable pseudonym that replaces an erased user's id in the audit log. */
export function auditPseudonym(secret: string, userId: string): string {
  return `erased_${hmac(deriveKey(secret, 'audit-pseudonym'), userId)}`;
}

/** Refuses to erase the last enabled admin: nobody could sign in to administer the server after. */
async function keepOneAdmin(stores: Stores, user: User): Promise<void> {
  if (user.role === 'admin' && user.disabledAt === null && (await stores.users.countActiveAdmins()) <= 1) {
    throw new AppError('conflict', { message: 'This is the last enabled admin; make another admin first' });
  }
}

/** One event with the user's id replaced by the pseudonym and, in events about them, nothing that identifies them. */
function scrub(event: AuditEvent, user: User, pseudonym: string): AuditEvent {
  const about = event.userId === user.id;
  const detail = event.detail && Object.fromEntries(
    Object.entries(event.detail).map(([key, value]) => {
      if (typeof value !== 'string') return [key, value];
      // An address (the current one, or an earlier one in an e-mail change) is the person; so is a value that
      // holds the current address in any form.
      if ((about && value.includes('@')) || value.toLowerCase().includes(user.email)) return [key, ERASED];
      return [key, value.split(user.id).join(pseudonym)];
    }),
  );
  return { ...event, userId: about ? pseudonym : event.userId, ip: about ? null : event.ip, userAgent: about ? null : event.userAgent, detail };
}

async function pseudonymizeAuditTrail(stores: Stores, user: User, pseudonym: string): Promise<void> {
  let afterId: string | null = null;
  for (;;) {
    const events = await stores.audit.listMentioning(user.id, afterId, AUDIT_BATCH);
    for (const event of events) await stores.audit.rewrite(scrub(event, user, pseudonym));
    if (events.length < AUDIT_BATCH) return;
    afterId = events[events.length - 1]!.id;
  }
}

export interface Eraser {
  /** Who asked: the user themselves, or an admin. */
  userId: string;
  client: ClientInfo;
}

/**
 * Deletes the account and everything of it. Sessions end first, on this server and (through the revocation
 * feed) at every verifying service, so no access token outlives the account by its `exp`. 409 conflict for the
 * last enabled admin. `locale`: the language of the page or request the owner asked from (for the farewell
 * e-mail when they chose none; an admin's language is not the owner's, so it counts only for a self-erasure).
 */
export async function deleteAccount(ctx: Context, user: User, by: Eraser, locale?: Locale): Promise<void> {
  await keepOneAdmin(ctx, user);
  await endUserSessions(ctx, user.id, 'user_deleted');
  const pseudonym = auditPseudonym(ctx.config.secret, user.id);
  const self = by.userId === user.id;
  await ctx.transaction(async (tx) => {
    const locked = await tx.users.lock(user.id);
    if (!locked) throw new AppError('not_found', { message: 'User not found' });
    await keepOneAdmin(tx, locked);
    await pseudonymizeAuditTrail(tx, locked, pseudonym);
    await tx.users.delete(locked.id);
    const t = mailTranslator(ctx, locked, self ? locale : undefined);
    const deleted = { brand: ctx.config.brandName, email: locked.email, date: t.dateTime(ctx.now()) };
    await tx.mail.enqueue(
      noticeMail(t, locked.email, ctx.config.brandName, t('mail.deleted.subject'), [
        self ? t('mail.deleted.self', deleted) : t('mail.deleted.byAdmin', deleted),
        t('mail.deleted.signedOut'),
      ]),
      ctx.now(),
    );
    // The erasure itself is recorded under the pseudonym; the person's own address and device are not kept.
    await tx.audit.append(auditEvent(ctx, 'user_deleted', { userId: pseudonym, client: self ? null : by.client, detail: { by: self ? pseudonym : by.userId, self } }));
  });
  ctx.mailer.kick();
}
