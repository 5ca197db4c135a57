// "Connected apps": the applications a user let sign in with Gatehouse (their grants), and taking that back.
// Revoking deletes the grant and everything issued under it (codes, opaque access tokens, refresh tokens), so
// the app cannot refresh or call userinfo any more and must ask for consent again; JWT access tokens for APIs
// end at their exp (oidc-provider cannot revoke or introspect those, see resources.ts).
import type { Context } from '../context.ts';
import { recordEvent } from '../audit/service.ts';
import { AppError } from '../errors.ts';
import type { OidcClientStore, OidcPayloadStore } from './store.ts';

export interface ConnectedApp {
  clientId: string;
  name: string;
  /** Everything granted: the OpenID scopes and each API's scopes. */
  scopes: string[];
  /** ISO 8601: when the first of its grants was given. */
  grantedAt: string;
}

export interface ConnectedAppsDeps {
  payloads: OidcPayloadStore;
  clients: OidcClientStore;
}

interface GrantPayload {
  jti: string;
  clientId: string;
  iat: number;
  openid?: { scope?: string };
  resources?: Record<string, string>;
}

const sources = new WeakMap<Context, ConnectedAppsDeps>();

/** Called when the provider is mounted: the account page and the export then list the user's apps. */
export function registerConnectedApps(ctx: Context, deps: ConnectedAppsDeps): void {
  sources.set(ctx, deps);
}

/** The user's connected apps, or null when the OpenID provider is not mounted on this server. */
export async function connectedAppsOf(ctx: Context, userId: string): Promise<ConnectedApp[] | null> {
  const deps = sources.get(ctx);
  return deps ? listConnectedApps(ctx, deps, userId) : null;
}

function grantsOf(raw: Array<Record<string, unknown>>): GrantPayload[] {
  return raw.filter((g): g is Record<string, unknown> & GrantPayload => typeof g.jti === 'string' && typeof g.clientId === 'string' && typeof g.iat === 'number');
}

export async function listConnectedApps(ctx: Context, deps: ConnectedAppsDeps, userId: string): Promise<ConnectedApp[]> {
  const byClient = new Map<string, GrantPayload[]>();
  for (const grant of grantsOf(await deps.payloads.listGrants(userId, ctx.now()))) {
    byClient.set(grant.clientId, [...(byClient.get(grant.clientId) ?? []), grant]);
  }
  const apps: ConnectedApp[] = [];
  for (const [clientId, grants] of byClient) {
    const client = await deps.clients.find(clientId);
    if (!client) continue;
    const scopes = new Set<string>();
    for (const grant of grants) {
      for (const scope of (grant.openid?.scope ?? '').split(' ')) if (scope) scopes.add(scope);
      for (const value of Object.values(grant.resources ?? {})) for (const scope of String(value).split(' ')) if (scope) scopes.add(scope);
    }
    const grantedAt = Math.min(...grants.map((g) => g.iat));
    apps.push({ clientId, name: client.name, scopes: [...scopes].sort(), grantedAt: new Date(grantedAt * 1000).toISOString() });
  }
  return apps.sort((a, b) => a.name.localeCompare(b.name) || a.clientId.localeCompare(b.clientId));
}

/** Revokes every grant the user gave this client; 404 when there is none. */
export async function revokeConnectedApp(
  ctx: Context,
  deps: ConnectedAppsDeps,
  auth: { userId: string; sessionId: string | null },
  clientId: string,
  client: { ip: string; userAgent: string | null },
): Promise<void> {
  const grants = grantsOf(await deps.payloads.listGrants(auth.userId, ctx.now())).filter((g) => g.clientId === clientId);
  if (grants.length === 0) throw new AppError('not_found', { message: 'No connected app with that id' });
  for (const grant of grants) await deps.payloads.deleteGrant(grant.jti);
  await recordEvent(ctx, 'oidc_app_revoked', { userId: auth.userId, sessionId: auth.sessionId, client, detail: { clientId } });
}
