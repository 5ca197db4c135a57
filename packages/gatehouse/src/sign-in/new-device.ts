// The new-device notice: a sign-in from a device and a network neither seen for the account lately is e-mailed
// to the owner, with a link that ends every session and sends a password reset ("this wasn't me").
//
// Where the account was seen comes from the audit log's sign-ins (`login_ok`, `register`, kept AUDIT_RETENTION,
// 90 days by default) and the live sessions: the sessions table alone forgets a session a week after it ends,
// so a monthly visitor would be told of their own laptop every time.
import { recordEvent } from '../audit/service.ts';
import type { AuditType } from '../audit/store.ts';
import type { ClientInfo, Context } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Locale } from '../i18n/index.ts';
import { mailTranslator } from '../i18n/mail-locale.ts';
import { deliverReset, issueToken, redeemToken } from '../recovery/service.ts';
import { deviceName, noticeMail } from '../recovery/templates.ts';
import { deviceOf } from '../sessions/device.ts';
import { endUserSessions } from '../sessions/service.ts';
import type { Session } from '../sessions/store.ts';
import { ipBucket } from '../sessions/throttle.ts';
import { mayRecover } from './access-policy.ts';
import type { User } from '../users/store.ts';

const DAY = 86_400_000;
/** How far back a device or network counts as known. */
export const KNOWN_PLACE_WINDOW_MS = 90 * DAY;
/** The "this wasn't me" link of a notice works this long. */
export const NOT_ME_TOKEN_TTL_MS = 7 * DAY;
/** The user's latest audit events read (newest first): months of an ordinary account's sign-ins and changes. */
const EVENTS_READ = 500;
const SIGN_IN_EVENTS: ReadonlySet<AuditType> = new Set(['login_ok', 'register']);

/** The device, as every page and notice names it (sessions/device.ts): the family and the OS, not their versions. */
export { deviceOf };

/** The network: an IPv4 address's /24, an IPv6 address's /64 (one subscriber's usual allocation). */
export function networkOf(ip: string | null): string | null {
  if (!ip) return null;
  const bucket = ipBucket(ip);
  const v4 = /^(\d+\.\d+\.\d+)\.\d+$/.exec(bucket);
  return v4 ? `${v4[1]}.0/24` : bucket;
}

/** The devices and networks of the user's sign-ins within the window, besides the session `exceptId`. */
async function knownPlaces(ctx: Context, userId: string, exceptId: string, since: number): Promise<{ devices: Set<string>; networks: Set<string> }> {
  const devices = new Set<string>();
  const networks = new Set<string>();
  const add = (userAgent: string | null, ip: string | null) => {
    // An account made by an admin or the CLI has a `register` event from nowhere: it says nothing of a place.
    if (userAgent === null && ip === null) return;
    devices.add(deviceOf(userAgent));
    const network = networkOf(ip);
    if (network) networks.add(network);
  };
  // By user only, the types filtered here: with a type too, SQLite picks the (type, id) index and walks every
  // account's sign-ins, a cost that grows with the whole log on every sign-in.
  for (const event of await ctx.audit.list({ userId, limit: EVENTS_READ })) {
    if (event.at < since) break;
    if (SIGN_IN_EVENTS.has(event.type) && event.sessionId !== exceptId) add(event.userAgent, event.ip);
  }
  for (const session of await ctx.sessions.listLive(userId, ctx.now())) {
    if (session.id !== exceptId) add(session.userAgent, session.ip);
  }
  return { devices, networks };
}

/**
 * Called once a sign-in's session is written: after the answer, compares where it came from with where the
 * account was seen and mails the owner when both the device and the network are new. An account's first
 * sign-in (no earlier one to compare with) is not news.
 */
export function noticeNewDevice(ctx: Context, user: User, session: Session, firstSignIn: boolean): void {
  if (firstSignIn) return;
  ctx.background.run('new-device notice', async () => {
    const known = await knownPlaces(ctx, user.id, session.id, ctx.now() - KNOWN_PLACE_WINDOW_MS);
    const device = deviceOf(session.userAgent);
    const network = networkOf(session.ip);
    if (known.devices.has(device) || (network !== null && known.networks.has(network))) return;
    const link = await issueToken(ctx, user, 'not_me', NOT_ME_TOKEN_TTL_MS);
    await recordEvent(ctx, 'new_device_signin', { userId: user.id, sessionId: session.id, client: { ip: session.ip ?? '', userAgent: session.userAgent }, detail: { device, network } });
    const t = mailTranslator(ctx, user);
    const unknown = t('mail.unknown');
    await ctx.mailer.send(
      noticeMail(
        t,
        user.email,
        ctx.config.brandName,
        t('mail.newDevice.subject'),
        [
          t('mail.newDevice.body', { date: t.dateTime(session.createdAt), device: deviceName(t, device), network: network ?? unknown, ip: session.ip ?? unknown }),
          t('mail.newDevice.ifYou'),
          t('mail.newDevice.ifNotYou', { duration: t.plural('mail.days', NOT_ME_TOKEN_TTL_MS / DAY) }),
        ],
        { label: t('mail.notMe.button'), link },
      ),
    );
  });
}

/** "This wasn't me": ends every session of the user and mails a password reset link. How many sessions ended. */
export async function disownSignIn(ctx: Context, token: string, client: ClientInfo | null, locale?: Locale): Promise<number> {
  const userId = await redeemToken(ctx, token, 'not_me');
  const user = userId ? await ctx.users.findById(userId) : null;
  if (!mayRecover(user)) throw new AppError('invalid_or_expired_token');
  const ended = await endUserSessions(ctx, user.id, 'not_me');
  await recordEvent(ctx, 'not_me', { userId: user.id, client, detail: { sessionsEnded: ended } });
  ctx.background.run('reset e-mail', () => deliverReset(ctx, user, locale));
  return ended;
}
