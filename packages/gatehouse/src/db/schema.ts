// Table types for Kysely. Times are epoch milliseconds (bigint in PostgreSQL, integer in SQLite) so that
// both databases read and compare them the same way.
import type { Kysely } from 'kysely';

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  role: string;
  password_hash: string | null;
  email_verified_at: number | null;
  disabled_at: number | null;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
  /** The language pages and e-mails use for this user ('en', 'ko'); null: the browser's. */
  locale: string | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  mode: string;
  /** SHA-256 of the session cookie (session mode only). */
  token_hash: string | null;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoke_reason: string | null;
  user_agent: string | null;
  ip: string | null;
  /** RFC 8176 methods, space-separated. */
  amr: string;
  auth_time: number | null;
}

export interface RefreshTokensTable {
  hash: string;
  session_id: string;
  parent_hash: string | null;
  created_at: number;
  used_at: number | null;
  expires_at: number;
}

export interface OneTimeTokensTable {
  hash: string;
  user_id: string;
  purpose: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  /** email_change: the new address to confirm; email_change_revert: the old address to go back to. */
  email: string | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  /** AES-256-GCM under a key derived from GATEHOUSE_SECRET. */
  private_key: string;
  created_at: number;
  retired_at: number | null;
}

export interface IdentitiesTable {
  provider: string;
  subject: string;
  user_id: string;
  email: string | null;
  /** 0 or 1 (SQLite has no boolean). */
  email_verified: number;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  /** The public part of the key (`gh_<prefix>_…`), unique: how a presented key is found. */
  prefix: string;
  /** SHA-256 of the whole key. */
  hash: string;
  /** Space-separated. */
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  revoked_at: number | null;
}

/** Append-only: rows are inserted and, past the retention, deleted; never updated. */
export interface AuditEventsTable {
  id: string;
  at: number;
  type: string;
  user_id: string | null;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
  /** JSON, never a secret. */
  detail: string | null;
}

/** Shared state in PostgreSQL when there is no Redis: counters, the revocation set, one-time codes. */
export interface SharedStateTable {
  key: string;
  value: string;
  count: number;
  expires_at: number;
}

/** Outgoing mail until delivered (see src/mail/queue.ts). */
export interface MailQueueTable {
  id: string;
  /** pending | sent | dead */
  status: string;
  /** The rendered message, sealed (AES-256-GCM); emptied once sent or dead, since it carries reset and verify links. */
  message: string;
  attempts: number;
  created_at: number;
  /** When a pending row is due; while a worker holds it, the end of its lease. */
  next_attempt_at: number;
  sent_at: number | null;
  /** The transport's error code and message of the last failed attempt, never the message body. */
  last_error: string | null;
}

export interface MfaFactorsTable {
  id: string;
  user_id: string;
  /** totp | webauthn */
  type: string;
  name: string;
  /** TOTP: the shared secret, sealed (src/crypto/seal.ts) and bound to the row id. */
  secret: string | null;
  /** TOTP: the last accepted time step (RFC 6238 T); a code of this step or older is refused. */
  last_used_step: number | null;
  /** Null while the factor is pending (enrolled, not yet confirmed with a code). */
  confirmed_at: number | null;
  created_at: number;
  last_used_at: number | null;
  /** WebAuthn: the credential id, base64url; unique across every user. Null for other types. */
  credential_id: string | null;
  /** WebAuthn: the credential's COSE public key, base64url. */
  public_key: string | null;
  /** WebAuthn: the authenticator's last signature counter (0 when it keeps none). */
  sign_count: number | null;
  /** WebAuthn: transports the browser reported (usb, nfc, ble, internal, hybrid…), space-separated. */
  transports: string | null;
  /** WebAuthn, 0 or 1: the authenticator verified the user (PIN, biometrics) when the passkey was registered. */
  user_verified: number | null;
  /** WebAuthn, 0 or 1 or null (unknown): a discoverable (resident) credential, per the credProps extension. */
  discoverable: number | null;
  /** WebAuthn, 0 or 1: may be synced to other devices (BE flag), and is (BS flag, as last seen). */
  backup_eligible: number | null;
  backed_up: number | null;
  /** WebAuthn: the authenticator model's AAGUID (all zeros when attestation is none and the device hides it). */
  aaguid: string | null;
}

export interface RecoveryCodesTable {
  /** HMAC-SHA-256 of the normalised code under a server key. */
  hash: string;
  user_id: string;
  created_at: number;
  used_at: number | null;
}

/** A reset of every second factor, asked for by e-mail: done by maintenance at `due_at` unless cancelled. */
export interface MfaResetsTable {
  user_id: string;
  requested_at: number;
  due_at: number;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  one_time_tokens: OneTimeTokensTable;
  signing_keys: SigningKeysTable;
  identities: IdentitiesTable;
  api_keys: ApiKeysTable;
  audit_events: AuditEventsTable;
  shared_state: SharedStateTable;
  mail_queue: MailQueueTable;
  mfa_factors: MfaFactorsTable;
  recovery_codes: RecoveryCodesTable;
  mfa_resets: MfaResetsTable;
}

export type Db = Kysely<Database>;
export type Dialect = 'sqlite' | 'postgres';
