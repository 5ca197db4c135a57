// Forward-only, versioned migrations; one set for SQLite and PostgreSQL. Never edit a released migration:
// add the next one.
import { Migrator, sql, type Kysely, type Migration, type MigrationResultSet } from 'kysely';

const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('email_verified_at', 'bigint')
        .addColumn('disabled_at', 'bigint')
        .addColumn('tokens_valid_after', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('last_login_at', 'bigint')
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('revoke_reason', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('ip', 'text')
        .execute();
      await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();
      await db.schema.createIndex('sessions_revoked_at').on('sessions').column('revoked_at').execute();

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
        .addColumn('parent_hash', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('refresh_tokens_session_id').on('refresh_tokens').column('session_id').execute();

      await db.schema
        .createTable('one_time_tokens')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('one_time_tokens_user_purpose').on('one_time_tokens').columns(['user_id', 'purpose']).execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .execute();
    },
  },
};

// Issue 4: accounts at OAuth / OpenID Connect providers linked to local users.
migrations['0002_identities'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('identities')
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('email', 'text')
      .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('identities_pkey', ['provider', 'subject'])
      .execute();
    await db.schema.createIndex('identities_user_id').on('identities').column('user_id').execute();
  },
};

// Issue 7: API keys and the audit log.
migrations['0003_api_keys_audit'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('prefix', 'text', (c) => c.notNull().unique())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addColumn('expires_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('api_keys_user_id').on('api_keys').column('user_id').execute();

    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('session_id', 'text')
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('detail', 'text')
      .execute();
    await db.schema.createIndex('audit_events_user_id').on('audit_events').columns(['user_id', 'id']).execute();
    await db.schema.createIndex('audit_events_type').on('audit_events').columns(['type', 'id']).execute();
    await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
  },
};

// Issue 9: shared state in the database, so instances on one PostgreSQL agree without Redis.
migrations['0004_shared_state'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('shared_state')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('shared_state_expires_at').on('shared_state').column('expires_at').execute();
  },
};

// Issue 13: how a session was signed in (RFC 8176 `amr`, `auth_time`); users.tokens_valid_after was never read.
migrations['0005_sign_in_methods'] = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('sessions').addColumn('amr', 'text', (c) => c.notNull().defaultTo('')).execute();
    await db.schema.alterTable('sessions').addColumn('auth_time', 'bigint').execute();
    await db.schema.alterTable('users').dropColumn('tokens_valid_after').execute();
  },
};

// Issue 13: outgoing mail waits here until the SMTP server takes it, so an outage delays mail instead of losing it.
migrations['0006_mail_queue'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('mail_queue')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('sent_at', 'bigint')
      .addColumn('last_error', 'text')
      .execute();
    await db.schema.createIndex('mail_queue_due').on('mail_queue').columns(['status', 'next_attempt_at']).execute();
  },
};

// Issue 15: second factors (TOTP now, WebAuthn credentials next) and recovery codes.
migrations['0007_second_factors'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('mfa_factors')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('secret', 'text')
      .addColumn('last_used_step', 'bigint')
      .addColumn('confirmed_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .execute();
    await db.schema.createIndex('mfa_factors_user_id').on('mfa_factors').column('user_id').execute();
    await db.schema
      .createTable('recovery_codes')
      .addColumn('hash', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema.createIndex('recovery_codes_user_id').on('recovery_codes').column('user_id').execute();
  },
};

// Losing every factor: a reset asked for by e-mail, pending until MFA_RESET_DELAY has passed.
migrations['0008_mfa_resets'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('mfa_resets')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('requested_at', 'bigint', (c) => c.notNull())
      .addColumn('due_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('mfa_resets_due_at').on('mfa_resets').column('due_at').execute();
  },
};

// Passkeys: a WebAuthn credential is a factor of type `webauthn`, found by its credential id at sign-in.
migrations['0009_passkeys'] = {
  async up(db: Kysely<any>) {
    for (const [column, type] of [
      ['credential_id', 'text'],
      ['public_key', 'text'],
      ['sign_count', 'bigint'],
      ['transports', 'text'],
      ['user_verified', 'integer'],
      ['discoverable', 'integer'],
      ['backup_eligible', 'integer'],
      ['backed_up', 'integer'],
      ['aaguid', 'text'],
    ] as const) {
      await db.schema.alterTable('mfa_factors').addColumn(column, type).execute();
    }
    // Unique: one credential belongs to one account. NULLs (TOTP rows) do not collide, on either database.
    await db.schema.createIndex('mfa_factors_credential_id').on('mfa_factors').column('credential_id').unique().execute();
  },
};

// Issue 18: an e-mail change's one-time tokens carry an address (the new one to confirm, the old one to revert
// to), kept beside the token's hash so that the link itself holds nothing but the token.
migrations['0010_email_change'] = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('one_time_tokens').addColumn('email', 'text').execute();
  },
};

// The OpenID provider: oidc-provider's artefacts (sessions, codes, tokens, grants…) in one table, and the
// clients registered with it, their secrets stored only as SHA-256.
migrations['0011_oidc'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('oidc_payloads')
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('grant_id', 'text')
      .addColumn('user_code', 'text')
      .addColumn('uid', 'text')
      .addColumn('account_id', 'text')
      .addColumn('expires_at', 'bigint')
      .addColumn('consumed_at', 'bigint')
      .addPrimaryKeyConstraint('oidc_payloads_pkey', ['kind', 'id'])
      .execute();
    await db.schema.createIndex('oidc_payloads_grant_id').on('oidc_payloads').column('grant_id').execute();
    await db.schema.createIndex('oidc_payloads_uid').on('oidc_payloads').column('uid').execute();
    await db.schema.createIndex('oidc_payloads_account_id').on('oidc_payloads').columns(['account_id', 'kind']).execute();
    await db.schema.createIndex('oidc_payloads_user_code').on('oidc_payloads').column('user_code').execute();
    await db.schema.createIndex('oidc_payloads_expires_at').on('oidc_payloads').column('expires_at').execute();
    await db.schema
      .createTable('oidc_clients')
      .addColumn('client_id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('secret_hash', 'text')
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('first_party', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0): signed logout tokens waiting to be POSTed to
// clients, delivered with retries like the mail queue.
migrations['0012_backchannel_logout'] = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('backchannel_logouts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('uri', 'text', (c) => c.notNull())
      .addColumn('token', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('sent_at', 'bigint')
      .addColumn('last_error', 'text')
      .execute();
    await db.schema.createIndex('backchannel_logouts_due').on('backchannel_logouts').columns(['status', 'next_attempt_at']).execute();
  },
};

// A user's language for pages and e-mails (issue 18); null follows the browser's Accept-Language.
migrations['0013_user_locale'] = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('users').addColumn('locale', 'text').execute();
  },
};

export const MIGRATION_NAMES = Object.keys(migrations);

export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'gatehouse_migrations',
    migrationLockTableName: 'gatehouse_migrations_lock',
  });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  return result;
}

/** Runs `select 1`: readiness and the test helpers use it. */
export async function ping(db: Kysely<any>): Promise<void> {
  await sql`select 1`.execute(db);
}
