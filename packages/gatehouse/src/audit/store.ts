// The security events worth keeping: who did what, from where, when. Never a secret.
export const AUDIT_TYPES = [
  'register',
  'login_ok',
  'login_failed',
  'lockout',
  'refresh_reuse_detected',
  'logout',
  'logout_all',
  'session_revoked',
  'password_changed',
  'password_reset',
  'email_verified',
  'role_changed',
  'user_disabled',
  'user_enabled',
  'user_deleted',
  'api_key_created',
  'api_key_revoked',
  'oauth_linked',
  'oauth_unlinked',
  'mfa_enrolled',
  'mfa_removed',
  'mfa_challenged',
  'mfa_verified',
  'mfa_failed',
  'recovery_code_used',
  'recovery_codes_regenerated',
  'mfa_reset_started',
  'mfa_reset_cancelled',
  'mfa_reset_finished',
  'new_device_signin',
  'not_me',
  'reauthenticated',
  'email_change_requested',
  'email_changed',
  'email_change_reverted',
  'account_exported',
  'user_invited',
  'verification_resent',
  'user_signed_out',
  'oidc_consent',
  'oidc_app_revoked',
  'oidc_client_created',
  'oidc_client_updated',
  'oidc_client_deleted',
] as const;

export type AuditType = (typeof AUDIT_TYPES)[number];

export interface AuditEvent {
  id: string;
  at: number;
  type: AuditType;
  userId: string | null;
  sessionId: string | null;
  ip: string | null;
  userAgent: string | null;
  detail: Record<string, string | number | boolean | null> | null;
}

export interface AuditQuery {
  userId?: string;
  type?: AuditType;
  /** Only events older than this id (newest first). */
  beforeId?: string;
  /** Only events at or after `since` and before `until` (epoch ms). */
  since?: number;
  until?: number;
  limit: number;
}

export interface AuditStore {
  append(event: AuditEvent): Promise<void>;
  list(query: AuditQuery): Promise<AuditEvent[]>;
  deleteBefore(at: number): Promise<number>;
  /**
   * Events that name the user, as their subject or anywhere in their detail (an admin's `by`), oldest first after
   * `afterId`: what an account's deletion rewrites.
   */
  listMentioning(userId: string, afterId: string | null, limit: number): Promise<AuditEvent[]>;
  /**
   * Rewrites one event's subject, client and detail. The log is append-only but for this: an erased account's
   * events keep their place in the trail under a pseudonym (GDPR art. 17).
   */
  rewrite(event: AuditEvent): Promise<void>;
}
