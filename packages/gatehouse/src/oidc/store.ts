// What the OpenID provider keeps: oidc-provider's artefacts (one row per model instance) and the clients
// registered with it. One SQL implementation (db/oidc-store.ts), tested on SQLite and PostgreSQL.

/** One oidc-provider model instance (Session, Interaction, AuthorizationCode, AccessToken, RefreshToken, Grant…). */
export interface OidcPayloadStore {
  /** Inserts or replaces `kind`/`id`; `expiresAt` null: kept until destroyed. */
  upsert(kind: string, id: string, payload: Record<string, unknown>, expiresAt: number | null): Promise<void>;
  /** The payload, with `consumed` set once consumed; undefined when absent or expired at `now`. */
  find(kind: string, id: string, now: number): Promise<Record<string, unknown> | undefined>;
  findByUid(kind: string, uid: string, now: number): Promise<Record<string, unknown> | undefined>;
  findByUserCode(kind: string, userCode: string, now: number): Promise<Record<string, unknown> | undefined>;
  consume(kind: string, id: string, now: number): Promise<void>;
  /** When `kind`/`id` was consumed (ms), or null: the refresh-token reuse grace (refresh-grace.ts). */
  consumedAt(kind: string, id: string): Promise<number | null>;
  destroy(kind: string, id: string): Promise<void>;
  /** Deletes every instance of `kind` that belongs to the grant. */
  revokeByGrantId(kind: string, grantId: string): Promise<void>;
  /** Grants (and what they issued) of one account and client: "Connected apps". */
  listGrants(accountId: string, now: number): Promise<Array<Record<string, unknown>>>;
  /** Deletes rows expired before `before`; maintenance. */
  deleteExpired(before: number): Promise<number>;
  /** The live instances of `kind` that belong to an account (Session, Grant); back-channel logout reads Sessions. */
  listByAccount(kind: string, accountId: string, now: number): Promise<Array<Record<string, unknown>>>;
  /** Deletes a grant and everything issued under it (codes, access and refresh tokens): "Connected apps". */
  deleteGrant(grantId: string): Promise<void>;
}

/** RFC 7591 metadata as oidc-provider reads it (snake_case), minus the secret. */
export interface ClientMetadata {
  client_name: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'none';
  backchannel_logout_uri?: string;
  backchannel_logout_session_required?: boolean;
  /**
   * Ours (given to oidc-provider as extra client metadata, never settable by a registering client): the
   * resource indicators (RFC 8707) this client may ask tokens for, besides the issuer; none when absent.
   */
  allowed_resources?: string[];
  /** Ours: the API scopes (anything but the OpenID scopes) this client may ask for; none when absent. */
  allowed_scopes?: string[];
}

export interface OidcClient {
  clientId: string;
  name: string;
  /** SHA-256 of the secret (base64url); null for a public client. */
  secretHash: string | null;
  metadata: ClientMetadata;
  /** Ours: skips the consent page. */
  firstParty: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface OidcClientStore {
  insert(client: OidcClient): Promise<void>;
  find(clientId: string): Promise<OidcClient | null>;
  list(): Promise<OidcClient[]>;
  /** Replaces the row (name, secret hash, metadata, first party); false when there is none. */
  update(client: OidcClient): Promise<boolean>;
  delete(clientId: string): Promise<boolean>;
}
