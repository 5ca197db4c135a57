// Dynamic client registration (RFC 7591) at POST /oauth2/register, on only when OIDC_REGISTRATION_TOKEN is set:
// that token is the initial access token every registration must carry (oidc-provider compares it in constant
// time). What a registration may give itself is less than what an administrator may give:
// - it is a third-party client (the consent page), never first-party;
// - no client_credentials grant (a service's access is an administrator's decision), and no allow-list of APIs
//   or API scopes (`allowed_resources`, `allowed_scopes`: an administrator's too), so it gets ID tokens and the
//   userinfo token, and no token for any API;
// - no URI the server itself would fetch or POST to (jwks_uri, sector_identifier_uri, request_uris,
//   backchannel_logout_uri, initiate_login_uri), so registering cannot aim the server at an internal address;
// - redirect URIs under the same rules as the CLI's: https, or http on loopback, no fragment.
// The client is stored like any other (its secret as SHA-256, shown once in the registration response) and
// is then managed by the CLI, /admin/clients and the admin page; no registration access token is issued, so
// RFC 7592's read, update and delete through the provider do not exist.
import { errors, type ClientMetadata as ProviderClientMetadata, type Configuration } from 'oidc-provider';
import { sha256 } from '../crypto/random.ts';
import { AppError } from '../errors.ts';
import { metadataOf, type ClientInput } from './clients.ts';
import { ALLOW_LIST_METADATA, checkAllowListValue } from './resources.ts';
import type { OidcClient } from './store.ts';

type ExtraClientMetadata = NonNullable<Configuration['extraClientMetadata']>;

/** Metadata a registration may not carry (see above). */
const NOT_REGISTRABLE = ['jwks', 'jwks_uri', 'sector_identifier_uri', 'request_uris', 'backchannel_logout_uri', 'initiate_login_uri'] as const;

/** The name a registration without client_name gets: its redirect URI's host, which the consent page shows. */
function defaultName(metadata: Record<string, unknown>): string {
  const first = Array.isArray(metadata.redirect_uris) ? metadata.redirect_uris[0] : undefined;
  try {
    return typeof first === 'string' ? new URL(first).host || 'Registered application' : 'Registered application';
  } catch {
    return 'Registered application';
  }
}

/** Gatehouse's client input for registered metadata (after oidc-provider validated it). */
function inputOf(metadata: Record<string, unknown>): ClientInput {
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  return {
    name: typeof metadata.client_name === 'string' && metadata.client_name.trim() ? metadata.client_name : defaultName(metadata),
    redirectUris: strings(metadata.redirect_uris),
    postLogoutRedirectUris: strings(metadata.post_logout_redirect_uris),
    public: metadata.token_endpoint_auth_method === 'none',
    firstParty: false,
  };
}

/** Our own checks (the CLI's URI rules…), as the OAuth errors a registration answers. */
function asRegistrationError(err: unknown): never {
  if (err instanceof AppError && err.code === 'validation_failed') {
    const first = err.details?.[0];
    if (first?.field === 'redirectUris') throw new errors.InvalidRedirectUri(first.message);
    throw new errors.InvalidClientMetadata(first?.message ?? err.message);
  }
  throw err;
}

/** The registration rules, on the metadata oidc-provider is building (its defaults filled in); may set client_name. */
function checkRegistration(metadata: Record<string, unknown>): void {
  for (const key of NOT_REGISTRABLE) {
    if (metadata[key] !== undefined) throw new errors.InvalidClientMetadata(`${key} cannot be registered here; ask an administrator`);
  }
  const grants = Array.isArray(metadata.grant_types) ? metadata.grant_types : [];
  if (grants.includes('client_credentials')) throw new errors.InvalidClientMetadata('the client_credentials grant cannot be registered here; ask an administrator');
  if (typeof metadata.client_name !== 'string' || !metadata.client_name.trim()) metadata.client_name = defaultName(metadata);
  try {
    metadataOf(inputOf(metadata));
  } catch (err) {
    asRegistrationError(err);
  }
}

/**
 * oidc-provider's `extraClientMetadata`: the allow-lists (resources.ts) as client metadata, and the registration
 * rules above. The validator gets a context only for a registration request (or an update, which is off).
 */
export function clientMetadataPolicy(): ExtraClientMetadata {
  return {
    properties: [...ALLOW_LIST_METADATA],
    validator: (koa, key, value, metadata) => {
      if (koa) {
        if (value !== undefined) throw new errors.InvalidClientMetadata(`${key} is set by an administrator of this server, not at registration`);
        // Once per registration (the validator runs once per extra property).
        if (key === ALLOW_LIST_METADATA[0]) checkRegistration(metadata as unknown as Record<string, unknown>);
        return;
      }
      checkAllowListValue(key, value);
    },
  };
}

/** The client a registration stores (ClientAdapter.upsert): third-party, its secret hashed. */
export function registeredClient(metadata: ProviderClientMetadata & Record<string, unknown>, now: number): OidcClient {
  let stored;
  try {
    stored = metadataOf(inputOf(metadata));
  } catch (err) {
    asRegistrationError(err);
  }
  const isPublic = metadata.token_endpoint_auth_method === 'none';
  if (!isPublic && typeof metadata.client_secret !== 'string') throw new errors.InvalidClientMetadata('a confidential client needs a secret');
  if (metadata.token_endpoint_auth_method === 'client_secret_post') stored.token_endpoint_auth_method = 'client_secret_post';
  return {
    clientId: String(metadata.client_id),
    name: stored.client_name,
    secretHash: isPublic ? null : sha256(metadata.client_secret as string),
    metadata: stored,
    firstParty: false,
    createdAt: now,
    updatedAt: now,
  };
}
