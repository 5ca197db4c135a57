// The applications that sign in with Gatehouse. A client's secret is shown once and kept only as SHA-256;
// oidc-provider compares a presented secret against that hash (provider.ts, compareClientSecret).
import { randomBytes } from 'node:crypto';
import { randomToken, sha256 } from '../crypto/random.ts';
import type { Context } from '../context.ts';
import { AppError, validationError } from '../errors.ts';
import { OIDC_SCOPES, SCOPE_TOKEN } from './resources.ts';
import type { ClientMetadata, OidcClient, OidcClientStore } from './store.ts';

export const CLIENT_SECRET_PREFIX = 'ghcs_';

export type ClientGrant = 'authorization_code' | 'refresh_token' | 'client_credentials';

export interface ClientInput {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  /** A public client (SPA, native app): no secret, PKCE only. */
  public?: boolean;
  firstParty?: boolean;
  /** Besides authorization_code and refresh_token (which every client with a redirect URI gets). */
  grants?: ClientGrant[];
  backchannelLogoutUri?: string | null;
  /** The resource indicators (RFC 8707: absolute http(s) URIs, the APIs) it may ask tokens for. */
  resources?: string[];
  /** The API scopes it may ask for (not the OpenID ones, which every client may ask). */
  scopes?: string[];
}

export interface ClientDeps {
  clients: OidcClientStore;
  now: () => number;
}

/** The running server's client store, by context: /admin/clients sets it, the admin page reads it. */
export const clientDepsOf = new WeakMap<Context, ClientDeps>();

/** What the admin API and the CLI show: never the hash. */
export interface PublicClient {
  clientId: string;
  name: string;
  public: boolean;
  firstParty: boolean;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: string[];
  backchannelLogoutUri: string | null;
  resources: string[];
  scopes: string[];
  createdAt: string;
  updatedAt: string;
}

export function toPublicClient(client: OidcClient): PublicClient {
  return {
    clientId: client.clientId,
    name: client.name,
    public: client.secretHash === null,
    firstParty: client.firstParty,
    redirectUris: client.metadata.redirect_uris,
    postLogoutRedirectUris: client.metadata.post_logout_redirect_uris,
    grantTypes: client.metadata.grant_types,
    backchannelLogoutUri: client.metadata.backchannel_logout_uri ?? null,
    resources: client.metadata.allowed_resources ?? [],
    scopes: client.metadata.allowed_scopes ?? [],
    createdAt: new Date(client.createdAt).toISOString(),
    updatedAt: new Date(client.updatedAt).toISOString(),
  };
}

/** The metadata oidc-provider validates and works with; `client_secret` is the hash (see provider.ts). */
export function providerMetadata(client: OidcClient): Record<string, unknown> {
  return { client_id: client.clientId, ...(client.secretHash ? { client_secret: client.secretHash } : {}), ...client.metadata };
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Absolute, no fragment (RFC 6749 §3.1.2); https, or http only on loopback (RFC 8252 §7.3), or a private-use scheme for native apps. */
function checkUri(field: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw validationError([{ field, message: `${raw} is not an absolute URI` }]);
  }
  if (url.hash || raw.includes('#')) throw validationError([{ field, message: `${raw} must not have a fragment` }]);
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) throw validationError([{ field, message: `${raw} must use https (http only on loopback)` }]);
  if (['javascript:', 'data:', 'file:'].includes(url.protocol)) throw validationError([{ field, message: `${raw} has a scheme that cannot be a redirect` }]);
  return raw;
}

/** A resource indicator a client may be allowed (RFC 8707 §2: absolute, no fragment; http(s), as resources.ts accepts). */
function checkResource(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw validationError([{ field: 'resources', message: `${raw} is not an absolute URI` }]);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw validationError([{ field: 'resources', message: `${raw} must be an http(s) URI` }]);
  if (url.hash || raw.includes('#')) throw validationError([{ field: 'resources', message: `${raw} must not have a fragment` }]);
  return raw;
}

function checkScope(scope: string): string {
  if (!SCOPE_TOKEN.test(scope)) throw validationError([{ field: 'scopes', message: `${scope} is not a valid scope (letters, digits and : . _ / -, up to 64)` }]);
  if (OIDC_SCOPES.has(scope)) throw validationError([{ field: 'scopes', message: `${scope} is an OpenID scope, which every client may ask; list only API scopes` }]);
  return scope;
}

/** The allow-lists' entries, deduplicated; scopes may also come space-separated ("a b"). */
function allowLists(input: ClientInput): Pick<ClientMetadata, 'allowed_resources' | 'allowed_scopes'> {
  const resources = [...new Set((input.resources ?? []).map(checkResource))];
  const scopes = [...new Set((input.scopes ?? []).flatMap((s) => s.split(' ')).filter(Boolean).map(checkScope))].sort();
  if (resources.length > MAX_ALLOWED) throw validationError([{ field: 'resources', message: `At most ${MAX_ALLOWED} resources` }]);
  if (scopes.length > MAX_ALLOWED) throw validationError([{ field: 'scopes', message: `At most ${MAX_ALLOWED} scopes` }]);
  return { ...(resources.length ? { allowed_resources: resources } : {}), ...(scopes.length ? { allowed_scopes: scopes } : {}) };
}

const MAX_ALLOWED = 50;

/** Checks a client's input and builds what is stored (the CLI, /admin/clients and registration go through it). */
export function metadataOf(input: ClientInput): ClientMetadata {
  const name = input.name.trim();
  if (name.length < 1 || name.length > 100) throw validationError([{ field: 'name', message: 'A name of 1 to 100 characters' }]);
  const grants = new Set<string>(input.grants ?? []);
  if (input.redirectUris.length > 0) {
    grants.add('authorization_code');
    grants.add('refresh_token');
  }
  if (grants.size === 0) throw validationError([{ field: 'redirectUris', message: 'At least one redirect URI, or the client_credentials grant' }]);
  if (input.public && grants.has('client_credentials')) throw validationError([{ field: 'grants', message: 'A public client cannot use client_credentials' }]);
  if (grants.has('authorization_code') && input.redirectUris.length === 0) throw validationError([{ field: 'redirectUris', message: 'The authorization code grant needs a redirect URI' }]);
  return {
    client_name: name,
    redirect_uris: [...new Set(input.redirectUris.map((uri) => checkUri('redirectUris', uri)))],
    post_logout_redirect_uris: [...new Set((input.postLogoutRedirectUris ?? []).map((uri) => checkUri('postLogoutRedirectUris', uri)))],
    grant_types: [...grants].sort(),
    response_types: grants.has('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: input.public ? 'none' : 'client_secret_basic',
    ...(input.backchannelLogoutUri ? { backchannel_logout_uri: checkUri('backchannelLogoutUri', input.backchannelLogoutUri), backchannel_logout_session_required: true } : {}),
    ...allowLists(input),
  };
}

/** Registers a client; the secret (null for a public one) is returned here and never again. */
export async function createClient(deps: ClientDeps, input: ClientInput): Promise<{ client: OidcClient; secret: string | null }> {
  const metadata = metadataOf(input);
  const now = deps.now();
  const secret = input.public ? null : randomToken(CLIENT_SECRET_PREFIX);
  const client: OidcClient = {
    clientId: randomBytes(16).toString('base64url'),
    name: metadata.client_name,
    secretHash: secret ? sha256(secret) : null,
    metadata,
    firstParty: input.firstParty ?? false,
    createdAt: now,
    updatedAt: now,
  };
  await deps.clients.insert(client);
  return { client, secret };
}

async function existing(deps: ClientDeps, clientId: string): Promise<OidcClient> {
  const client = await deps.clients.find(clientId);
  if (!client) throw new AppError('not_found', { message: 'Client not found' });
  return client;
}

/** Changes what is given; a client stays public or confidential (make a new one to switch). */
export async function updateClient(deps: ClientDeps, clientId: string, patch: Partial<Omit<ClientInput, 'public'>>): Promise<OidcClient> {
  const client = await existing(deps, clientId);
  const current = client.metadata;
  const metadata = metadataOf({
    name: patch.name ?? client.name,
    redirectUris: patch.redirectUris ?? current.redirect_uris,
    postLogoutRedirectUris: patch.postLogoutRedirectUris ?? current.post_logout_redirect_uris,
    public: client.secretHash === null,
    grants: patch.grants ?? (current.grant_types.filter((g) => g === 'client_credentials') as ClientGrant[]),
    backchannelLogoutUri: patch.backchannelLogoutUri === undefined ? (current.backchannel_logout_uri ?? null) : patch.backchannelLogoutUri,
    resources: patch.resources ?? current.allowed_resources ?? [],
    scopes: patch.scopes ?? current.allowed_scopes ?? [],
  });
  const updated = { ...client, name: metadata.client_name, metadata, firstParty: patch.firstParty ?? client.firstParty, updatedAt: deps.now() };
  await deps.clients.update(updated);
  return updated;
}

/** A new secret; the old one stops working at once. */
export async function rotateClientSecret(deps: ClientDeps, clientId: string): Promise<{ client: OidcClient; secret: string }> {
  const client = await existing(deps, clientId);
  if (client.secretHash === null) throw validationError([{ field: 'clientId', message: 'A public client has no secret' }]);
  const secret = randomToken(CLIENT_SECRET_PREFIX);
  const updated = { ...client, secretHash: sha256(secret), updatedAt: deps.now() };
  await deps.clients.update(updated);
  return { client: updated, secret };
}

export async function deleteClient(deps: ClientDeps, clientId: string): Promise<void> {
  if (!(await deps.clients.delete(clientId))) throw new AppError('not_found', { message: 'Client not found' });
}
