// The store's integrity, as SQL over the PostgreSQL database a server wrote: each query counts rows that must
// not exist. Every check must come back 0.
import pg from 'pg';

export const INTEGRITY_CHECKS: Record<string, string> = {
  'two users share an e-mail, whatever its case': `select count(*) from (select lower(email) from users group by lower(email) having count(*) > 1) d`,
  'an e-mail not stored trimmed and lower-case': `select count(*) from users where email <> lower(trim(email))`,
  'a session of no user': `select count(*) from sessions s left join users u on u.id = s.user_id where u.id is null`,
  'a refresh token of no session': `select count(*) from refresh_tokens t left join sessions s on s.id = t.session_id where s.id is null`,
  // A parent may be gone: maintenance deletes used refresh tokens past the newest ten of a live session.
  'a refresh token whose parent is in another session': `select count(*) from refresh_tokens t join refresh_tokens p on p.hash = t.parent_hash where p.session_id <> t.session_id`,
  'a refresh token with two successors': `select count(*) from (select parent_hash from refresh_tokens where parent_hash is not null group by parent_hash having count(*) > 1) d`,
  'a live session with more than one unused refresh token': `select count(*) from (select t.session_id from refresh_tokens t join sessions s on s.id = t.session_id where s.revoked_at is null and t.used_at is null group by t.session_id having count(*) > 1) d`,
  'a used refresh token with no successor in a live session': `select count(*) from refresh_tokens t join sessions s on s.id = t.session_id where s.revoked_at is null and t.used_at is not null and not exists (select 1 from refresh_tokens c where c.parent_hash = t.hash)`,
  // Live sessions only: maintenance deletes the refresh tokens of ended and expired sessions (src/maintenance.ts).
  'a live token-mode session without any refresh token (half-made login)': `select count(*) from sessions s where s.mode <> 'session' and s.revoked_at is null and s.expires_at > (extract(epoch from now()) * 1000)::bigint and not exists (select 1 from refresh_tokens t where t.session_id = s.id)`,
  'a session-mode session without its cookie hash': `select count(*) from sessions where mode = 'session' and token_hash is null`,
  'a revoked session without a reason': `select count(*) from sessions where revoked_at is not null and revoke_reason is null`,
  'a one-time token of no user': `select count(*) from one_time_tokens o left join users u on u.id = o.user_id where u.id is null`,
  'an identity of no user': `select count(*) from identities i left join users u on u.id = i.user_id where u.id is null`,
  'an API key of no user': `select count(*) from api_keys k left join users u on u.id = k.user_id where u.id is null`,
  'no live signing key': `select case when exists (select 1 from signing_keys where retired_at is null) then 0 else 1 end`,
};

/**
 * A user that register made only in part: every account in these runs comes from POST /auth/register, which
 * creates the user, its first session (with a refresh token) and a `register` audit event. Either all three
 * exist or none may.
 */
export const HALF_MADE_CHECKS: Record<string, string> = {
  'a registered user without any session': `select count(*) from users u where not exists (select 1 from sessions s where s.user_id = u.id)`,
  'a user without its register audit event': `select count(*) from users u where not exists (select 1 from audit_events a where a.user_id = u.id and a.type = 'register')`,
  'a register audit event of no user': `select count(*) from audit_events a left join users u on u.id = a.user_id where a.type = 'register' and u.id is null`,
};

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Runs each check; returns the ones that found rows, with their counts. */
export async function integrityViolations(url: string, checks: Record<string, string> = { ...INTEGRITY_CHECKS, ...HALF_MADE_CHECKS }): Promise<Record<string, number>> {
  return withClient(url, async (client) => {
    const found: Record<string, number> = {};
    for (const [name, sql] of Object.entries(checks)) {
      const { rows } = await client.query<{ count: string }>(sql.startsWith('select case') ? `select (${sql}) as count` : sql);
      const count = Number(rows[0]?.count ?? 0);
      if (count > 0) found[name] = count;
    }
    return found;
  });
}

export interface StoredFacts {
  /** e-mail -> how many users have it (lower-cased). */
  users: Map<string, number>;
  /** session id -> revoked? */
  sessions: Map<string, { revoked: boolean; userEmail: string }>;
}

export async function storedFacts(url: string): Promise<StoredFacts> {
  return withClient(url, async (client) => {
    const users = new Map<string, number>();
    for (const row of (await client.query<{ email: string; n: string }>(`select lower(email) as email, count(*) as n from users group by lower(email)`)).rows) users.set(row.email, Number(row.n));
    const sessions = new Map<string, { revoked: boolean; userEmail: string }>();
    for (const row of (await client.query<{ id: string; revoked: boolean; email: string }>(`select s.id, s.revoked_at is not null as revoked, u.email from sessions s join users u on u.id = s.user_id`)).rows) {
      sessions.set(row.id, { revoked: row.revoked, userEmail: row.email });
    }
    return { users, sessions };
  });
}
