// The OpenID provider over HTTP. oidc-provider answers /oauth2/* itself (a catch-all that hands it the raw
// request: its endpoints speak OAuth's formats, not this API's, and are documented in the OpenAPI description,
// not as operations). Fastify serves what is ours: the discovery document, and the interaction pages where
// the provider asks Gatehouse to sign the user in and to get their consent.
import type { FastifyReply, FastifyRequest } from 'fastify';
import inject from 'light-my-request';
import type Provider from 'oidc-provider';
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { escapeHtml } from '../../html.ts';
import { acrOf, asksForMfa } from '../../oidc/acr.ts';
import { OidcProvider } from '../../oidc/provider.ts';
import { SqlKeyStore } from '../../db/key-store.ts';
import { SqlOidcClientStore, SqlOidcPayloadStore } from '../../db/oidc-store.ts';
import type { Db } from '../../db/schema.ts';
import { sessionCookieName } from '../cookies.ts';
import type { Guards } from '../plugins/auth.ts';
import { oidcClientRoutes } from './oidc-clients.ts';
import { connectedAppRoutes } from './connected-apps.ts';
import { interactionPath, requestClients } from '../../oidc/provider.ts';
import { providerPayloads } from '../../oidc/state-store.ts';
import { gatehouseSession } from '../../oidc/policy.ts';
import type { OidcClientStore, OidcPayloadStore } from '../../oidc/store.ts';
import { connectedAppPages } from '../pages/connected-apps.ts';
import { registerConnectedApps } from '../../oidc/connected-apps.ts';
import { BackchannelLogout, backchannelLogouts } from '../../oidc/backchannel.ts';
import { SqlBackchannelStore } from '../../db/backchannel-store.ts';
import { onSessionsEnded } from '../../sessions/ended.ts';
import { endSession } from '../../sessions/service.ts';
import { recordEvent } from '../../audit/service.ts';
import { pageScope } from './pages.ts';
import { csrfInput } from '../pages/layout.ts';
import { form, formFields as f, posts, shows } from '../pages/page-answers.ts';
import { formField, type SignedIn } from '../pages/page-request.ts';
import type { Csrf } from '../plugins/csrf.ts';
import { toAppError } from '../plugins/error-handler.ts';
import { clientInfo, type App } from '../types.ts';
import { hasSecondFactor } from '../../factors/service.ts';
import type { MessageKey, Translator } from '../../i18n/index.ts';

/** The path every provider endpoint lives under; the OpenAPI check leaves it out (see openapi.ts). */
export const OAUTH2_CATCH_ALL = '/oauth2/*';

const SCOPE_TEXT: Record<string, MessageKey> = {
  openid: 'consent.scope.openid',
  profile: 'consent.scope.profile',
  email: 'consent.scope.email',
  offline_access: 'consent.scope.offlineAccess',
};

/** What a scope lets the application do, for the consent page; an unknown scope by its name. */
function scopeText(t: Translator, scope: string): string {
  const key = Object.hasOwn(SCOPE_TEXT, scope) ? SCOPE_TEXT[scope] : undefined;
  return key ? t(key) : scope;
}

// OpenID Connect Discovery 1.0 §3: oidc-provider's metadata, whatever it holds.
const DiscoverySchema = Type.Object(
  { issuer: Type.String({ format: 'uri' }), jwks_uri: Type.String({ format: 'uri' }), authorization_endpoint: Type.String({ format: 'uri' }), token_endpoint: Type.String({ format: 'uri' }) },
  { additionalProperties: true, description: 'OpenID provider metadata (OpenID Connect Discovery 1.0 §3), as oidc-provider publishes it' },
);

export function oauth2Routes(app: App, ctx: Context, oidc: OidcProvider, clients: OidcClientStore, csrf: Csrf, payloads?: OidcPayloadStore): void {
  // The discovery document, read from the provider in-process and cached per provider instance (it changes
  // only with the configuration, which changes only with the keys).
  const discovery = new WeakMap<Provider, Record<string, unknown>>();
  app.get('/.well-known/openid-configuration', { schema: { response: { 200: DiscoverySchema } } }, async (_request, reply) => {
    const { provider, handle } = await oidc.instance();
    let metadata = discovery.get(provider);
    if (!metadata) {
      const host = new URL(ctx.config.publicUrl).host;
      const res = await inject(handle as Parameters<typeof inject>[0], { method: 'GET', url: '/.well-known/openid-configuration', headers: { host } });
      if (res.statusCode !== 200) throw new Error(`the provider answered its discovery with ${res.statusCode}`);
      metadata = res.json() as Record<string, unknown>;
      discovery.set(provider, metadata);
    }
    reply.header('cache-control', 'public, max-age=3600');
    return metadata as { issuer: string; jwks_uri: string; authorization_endpoint: string; token_endpoint: string };
  });

  // Everything else under /oauth2/: oidc-provider, with the raw request (its body unread) and our security headers.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    scope.all(OAUTH2_CATCH_ALL, { schema: { hide: true } as object }, async (request, reply) => {
      const { handle } = await oidc.instance();
      reply.hijack();
      for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) reply.raw.setHeader(name, value);
      requestClients.set(request.raw, clientInfo(request));
      await handle(request.raw, reply.raw);
    });
  });

  // The interaction pages: forms, with the pages' CSP, CSRF and error pages.
  app.register(async (scope) => {
    const { pages, kit } = pageScope(scope, ctx, csrf);
    scope.setErrorHandler(async (err, request, reply) => {
      const appError = toAppError(err as Error);
      // oidc-provider's own errors (an expired or unknown interaction) are 400s with a message for a person.
      const status = appError.status >= 500 && (err as { statusCode?: number }).statusCode === 400 ? 400 : appError.status;
      if (status >= 500) request.log.error({ err: appError.cause ?? err }, 'request failed');
      const t = kit.t(request);
      const message = status === 400 ? t('consent.requestExpired') : appError.status >= 500 ? t('page.serverError') : t.server(appError.message);
      return kit.show(request, reply, null, { title: t('page.errorTitle'), status, body: () => `<p class="error">${escapeHtml(message)}</p>` });
    });

    const uidParams = Type.Object({ uid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });
    // The "Revoke" button of Connected apps on /account: a form like these, with their error pages.
    if (payloads) connectedAppPages(scope, ctx, pages, { payloads, clients });

    async function finish(request: FastifyRequest, reply: FastifyReply, provider: Provider, result: Record<string, unknown>) {
      const to = await provider.interactionResult(request.raw, reply.raw, result, { mergeWithLastSubmission: true });
      // After the consent form's POST, the provider's next hop goes to the application (another origin), which
      // the CSP's form-action would block in Chromium: go on with a meta refresh instead (see PageKit.continueTo).
      if (request.method === 'POST') {
        const t = kit.t(request);
        return kit.show(request, reply, null, {
          title: t('consent.continuingTitle'),
          refreshTo: to,
          body: () => `<p>${escapeHtml(t('consent.continuing'))}</p>\n<p><a href="${escapeHtml(to)}">${escapeHtml(t('consent.continue'))}</a></p>`,
        });
      }
      return reply.header('cache-control', 'no-store').redirect(to, 303);
    }

    async function consent(request: FastifyRequest, reply: FastifyReply, provider: Provider, viewer: SignedIn) {
      const details = await provider.interactionDetails(request.raw, reply.raw);
      const clientId = String(details.params.client_id);
      const client = await clients.find(clientId);
      if (!client) return finish(request, reply, provider, { error: 'invalid_client', error_description: 'The client is gone' });
      if (client.firstParty) return finish(request, reply, provider, { consent: { grantId: await grantAll(provider, details, viewer.user.id) } });
      const scopes = String(details.params.scope ?? '').split(' ').filter(Boolean);
      const t = kit.t(request);
      const app = { app: client.name };
      return kit.show(request, reply, viewer, {
        title: t('consent.title', app),
        body: (token) => `<h1>${escapeHtml(t('consent.heading', app))}</h1>
<p>${escapeHtml(t('consent.asksTo', app))}</p><ul>${scopes.map((s) => `<li>${escapeHtml(scopeText(t, s))}</li>`).join('')}</ul>
<p>${escapeHtml(t('consent.takeBack'))}</p>
<form method="post" action="${interactionPath(details.uid)}/consent">${csrfInput(token)}
<button type="submit" name="decision" value="approve">${escapeHtml(t('consent.allow'))}</button>
<button type="submit" name="decision" value="deny" class="secondary">${escapeHtml(t('consent.deny'))}</button></form>`,
      });
    }

    // GET: where oidc-provider sends the browser when it needs a sign-in or a consent.
    scope.get('/oauth2/interaction/:uid', { schema: { ...shows([400, 401, 403], undefined, true), params: uidParams } }, async (request, reply) => {
      const provider = await oidc.provider();
      const details = await provider.interactionDetails(request.raw, reply.raw);
      const here = interactionPath(details.uid);
      const viewer = await pages.viewer(request);
      if (details.prompt.name === 'consent') {
        if (!viewer) return reply.header('cache-control', 'no-store').redirect(`/login?redirect_to=${encodeURIComponent(here)}`, 303);
        return consent(request, reply, provider, viewer);
      }
      // The login prompt: a Gatehouse session is the sign-in, if it is fresh and strong enough for this request.
      // When this browser first reached the interaction (ms): a sign-in for prompt=login must come after it.
      const startKey = `oidc:interaction-start:${details.uid}`;
      const seen = await ctx.state.get(startKey);
      const startedAt = seen === null ? ctx.now() : Number(seen);
      if (seen === null) await ctx.state.put(startKey, String(startedAt), 600_000);
      if (!viewer) return reply.header('cache-control', 'no-store').redirect(`/login?redirect_to=${encodeURIComponent(here)}`, 303);
      const { session } = viewer;
      const reasons = new Set(details.prompt.reasons);
      const maxAge = details.params.max_age === undefined ? null : Number(details.params.max_age) * 1000;
      // prompt=login asks for a sign-in now; max_age for one no older than that (OpenID Connect Core §3.1.2.1).
      const stale = (reasons.has('login_prompt') && session.authTime < startedAt) || (maxAge !== null && ctx.now() - session.authTime > maxAge);
      const wantsMfa = asksForMfa(details.params.acr_values) && !session.amr.includes('mfa');
      if (wantsMfa && !(await hasSecondFactor(ctx, viewer.user.id))) {
        // OpenID Connect Core errata: the requested acr cannot be met for this account (it has no second factor).
        return finish(request, reply, provider, { error: 'unmet_authentication_requirements', error_description: 'This account has no second factor to sign in with' });
      }
      if (stale || wantsMfa) {
        // Confirm it's you: the password, or a second factor when the account has one; it renews the session's
        // sign-in time and amr, then comes back here.
        return reply.header('cache-control', 'no-store').redirect(`/account/reauthenticate?return_to=${encodeURIComponent(here)}`, 303);
      }
      const amr = session.amr.length ? session.amr : ['pwd'];
      return finish(request, reply, provider, {
        login: { accountId: viewer.user.id, amr, acr: acrOf(amr), ts: Math.floor(session.authTime / 1000), remember: true },
      });
    });

    scope.post(
      '/oauth2/interaction/:uid/consent',
      { schema: { ...posts(form({ decision: f.text('approve or deny', 10) }), [400, 401, 403], true), params: uidParams } },
      async (request, reply) => {
        pages.checkCsrf(request);
        const provider = await oidc.provider();
        const details = await provider.interactionDetails(request.raw, reply.raw);
        const viewer = await pages.viewer(request);
        if (!viewer || details.prompt.name !== 'consent' || details.session?.accountId !== viewer.user.id) {
          return reply.header('cache-control', 'no-store').redirect(interactionPath(details.uid), 303);
        }
        if (formField(request.body, 'decision', 10) !== 'approve') {
          return finish(request, reply, provider, { error: 'access_denied', error_description: 'The user did not allow it' });
        }
        const grantId = await grantAll(provider, details, viewer.user.id);
        await recordEvent(ctx, 'oidc_consent', { userId: viewer.user.id, sessionId: viewer.session.id, client: clientInfo(request), detail: { clientId: String(details.params.client_id) } });
        return finish(request, reply, provider, { consent: { grantId } });
      },
    );
  });
}

/** Grants what the interaction asks for (its missing scopes and claims) on the existing grant or a new one. */
async function grantAll(provider: Provider, details: Awaited<ReturnType<Provider['interactionDetails']>>, accountId: string): Promise<string> {
  const clientId = String(details.params.client_id);
  const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
  const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  return grant.save();
}

/** Ends the Gatehouse session of a browser that confirmed RP-initiated logout at /oauth2/logout. */
export function endGatehouseSessionOnLogout(ctx: Context, cookieName: string) {
  return async (koa: { cookies: { get(name: string): string | undefined } }) => {
    const session = await gatehouseSession(ctx, koa.cookies.get(cookieName));
    if (!session) return;
    await endSession(ctx, session.id, 'logout');
    await recordEvent(ctx, 'logout', { userId: session.userId, sessionId: session.id, client: { ip: '', userAgent: null }, detail: { via: 'oidc_logout' } });
  };
}

/** The provider, its storage and its routes, on `app` (OIDC_PROVIDER=true). */
export function mountOidcProvider(app: App, ctx: Context, db: Db, guards: Guards, csrf: Csrf): OidcProvider {
  // With REDIS_URL, codes, interactions, replay entries and pushed requests live in Redis (oidc/state-store.ts).
  const payloads = providerPayloads(ctx, new SqlOidcPayloadStore(db));
  const clients = new SqlOidcClientStore(db);
  const oidc = new OidcProvider(ctx, {
    keyStore: new SqlKeyStore(db),
    payloads,
    clients,
    onLogout: endGatehouseSessionOnLogout(ctx, sessionCookieName(ctx.config)),
  });
  oauth2Routes(app, ctx, oidc, clients, csrf, payloads);
  registerConnectedApps(ctx, { payloads, clients });
  oidcClientRoutes(app, ctx, guards, { clients, now: ctx.now });
  connectedAppRoutes(app, ctx, guards, { payloads, clients });
  const dialect = ctx.config.databaseUrl ? 'postgres' : 'sqlite';
  const backchannel = new BackchannelLogout(ctx, { payloads, clients, keyStore: new SqlKeyStore(db), queue: new SqlBackchannelStore(db, dialect) });
  backchannelLogouts.set(ctx, backchannel);
  onSessionsEnded(ctx, (ids) => backchannel.sessionsEnded(ids));
  backchannel.start();
  app.addHook('onClose', async () => backchannel.stop());
  return oidc;
}
