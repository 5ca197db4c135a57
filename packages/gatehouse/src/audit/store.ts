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
  limit: number;
}

export interface AuditStore {
  append(event: AuditEvent): Promise<void>;
  list(query: AuditQuery): Promise<AuditEvent[]>;
  deleteBefore(at: number): Promise<number>;
}
