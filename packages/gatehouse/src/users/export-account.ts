// The account export (GDPR art. 15 and 20): one JSON document with everything the server holds about the
// caller, in the shapes the API already uses. Every part goes through a to-public function, so no hash, key,
// sealed secret or token can reach it; test/security/export.test.ts greps a full export for each of them.
//
// | field | what it holds |
// | --- | --- |
// | `exportedAt` | when the document was made (ISO 8601) |
// | `user` | the user object (`id`, `email`, `name`, `role`, `emailVerified`, `createdAt`, `lastLoginAt`), plus `disabled`, `disabledAt` and `updatedAt` |
// | `user.hasPassword` | whether a password is set (never the password or its hash) |
// | `user.locale` | the language chosen for pages and e-mails (`en`, `ko`), or null to follow the browser |
// | `sessions[]` | every session row, ended ones too: `id`, `createdAt`, `lastUsedAt`, `expiresAt`, `userAgent`, `device`, `ip`, `current`, `signInMethods` (RFC 8176 `amr`), `lastSignInAt` (its auth time), `endedAt`, `endReason` |
// | `identities[]` | linked social accounts: `provider`, `subject` (the provider's id), `email` and `emailVerified` as the provider last said, `linkedAt` |
// | `factors[]` | second factors: `id`, `type` (`totp`, `webauthn`), `name`, `createdAt`, `lastUsedAt`, `confirmed`; never a TOTP secret or a credential's key |
// | `recoveryCodesLeft` | how many unused recovery codes there are (never the codes) |
// | `pendingMfaReset` | a reset of every factor asked for by e-mail: `requestedAt`, `dueAt`; or null |
// | `apiKeys[]` | every API key, revoked ones too: `id`, `name`, `prefix` (the public part), `scopes`, `createdAt`, `lastUsedAt`, `expiresAt`, `revokedAt`; never the key or its hash |
// | `auditEvents[]` | the security events about the account, newest first: `id`, `at`, `type`, `sessionId`, `ip`, `userAgent`, `detail` |
// | `connectedApps[]` | applications the user let sign them in through the OpenID provider: `clientId`, `name`, `scopes` (OpenID and API scopes granted), `grantedAt` |
import type { Locale } from '../i18n/index.ts';
import { recordEvent } from '../audit/service.ts';
import { connectedAppsOf } from '../oidc/connected-apps.ts';
import type { AuditEvent } from '../audit/store.ts';
import type { ClientInfo, Context } from '../context.ts';
import { toPublicApiKey, type PublicApiKey } from '../api-keys/store.ts';
import { toPublicFactor, type PublicFactor } from '../factors/store.ts';
import { toPublicSession, type PublicSession } from '../sessions/store.ts';
import { getUser } from './service.ts';
import { toAdminUser, type AdminUser } from './store.ts';

/** Audit events read per page while exporting; the export holds all of them (bounded by AUDIT_RETENTION). */
const AUDIT_PAGE = 500;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface AccountExport {
  exportedAt: string;
  user: AdminUser & { updatedAt: string; hasPassword: boolean; locale: Locale | null };
  sessions: Array<PublicSession & { signInMethods: string[]; lastSignInAt: string; endedAt: string | null; endReason: string | null }>;
  identities: Array<{ provider: string; subject: string; email: string | null; emailVerified: boolean; linkedAt: string }>;
  factors: Array<PublicFactor & { confirmed: boolean }>;
  recoveryCodesLeft: number;
  pendingMfaReset: { requestedAt: string; dueAt: string } | null;
  apiKeys: Array<PublicApiKey & { revokedAt: string | null }>;
  auditEvents: Array<{ id: string; at: string; type: string; sessionId: string | null; ip: string | null; userAgent: string | null; detail: AuditEvent['detail'] }>;
  connectedApps: Array<{ clientId: string; name: string; scopes: string[]; grantedAt: string }>;
}

async function auditEventsOf(ctx: Context, userId: string): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let beforeId: string | undefined;
  for (;;) {
    const page = await ctx.audit.list({ userId, beforeId, limit: AUDIT_PAGE });
    events.push(...page);
    if (page.length < AUDIT_PAGE) return events;
    beforeId = page[page.length - 1]!.id;
  }
}

export async function exportAccount(ctx: Context, caller: { userId: string; sessionId: string | null }, client: ClientInfo): Promise<AccountExport> {
  const user = await getUser(ctx, caller.userId);
  const [sessions, identities, factors, recoveryCodesLeft, pendingReset, apiKeys, events] = await Promise.all([
    ctx.sessions.listByUser(user.id),
    ctx.identities.listByUser(user.id),
    ctx.factors.listByUser(user.id),
    ctx.factors.countRecoveryCodes(user.id),
    ctx.factors.findReset(user.id),
    ctx.apiKeys.listByUser(user.id),
    auditEventsOf(ctx, user.id),
  ]);
  const connectedApps = (await connectedAppsOf(ctx, user.id)) ?? [];
  const document: AccountExport = {
    exportedAt: new Date(ctx.now()).toISOString(),
    user: { ...toAdminUser(user), updatedAt: new Date(user.updatedAt).toISOString(), hasPassword: user.passwordHash !== null, locale: user.locale },
    sessions: sessions.map((s) => ({
      ...toPublicSession(s, caller.sessionId),
      signInMethods: s.amr,
      lastSignInAt: new Date(s.authTime).toISOString(),
      endedAt: iso(s.revokedAt),
      endReason: s.revokeReason,
    })),
    identities: identities.map((i) => ({ provider: i.provider, subject: i.subject, email: i.email, emailVerified: i.emailVerified, linkedAt: new Date(i.createdAt).toISOString() })),
    factors: factors.map((f) => ({ ...toPublicFactor(f), confirmed: f.confirmedAt !== null })),
    recoveryCodesLeft,
    pendingMfaReset: pendingReset ? { requestedAt: new Date(pendingReset.requestedAt).toISOString(), dueAt: new Date(pendingReset.dueAt).toISOString() } : null,
    apiKeys: apiKeys.map((k) => ({ ...toPublicApiKey(k), revokedAt: iso(k.revokedAt) })),
    auditEvents: events.map((e) => ({ id: e.id, at: new Date(e.at).toISOString(), type: e.type, sessionId: e.sessionId, ip: e.ip, userAgent: e.userAgent, detail: e.detail })),
    connectedApps,
  };
  await recordEvent(ctx, 'account_exported', { userId: user.id, sessionId: caller.sessionId, client });
  return document;
}
