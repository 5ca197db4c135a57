// Shared TypeBox schemas: one definition gives validation, types and (later) the OpenAPI document.
import { Type, type TSchema } from 'typebox';
import { documented } from './documented.ts';
import { LOCALES, type Locale } from '../i18n/index.ts';

/** An instant, as ISO 8601 in UTC (`toISOString()`). */
export const DateTime = Type.String({ format: 'date-time' });

/** One of the languages the pages and e-mails are written in. */
export const LocaleField = Type.Unsafe<Locale>(Type.String({ enum: [...LOCALES], description: `A language of the pages and e-mails: ${LOCALES.join(', ')}` }));

export const UserSchema = Type.Object({
  id: Type.String(),
  email: Type.String({ description: 'Lower-case' }),
  name: Type.String(),
  role: Type.String({ description: 'One of the configured roles' }),
  emailVerified: Type.Boolean(),
  createdAt: DateTime,
  lastLoginAt: Type.Union([DateTime, Type.Null()]),
});

export const ModeSchema = Type.Union([Type.Literal('token'), Type.Literal('cookie'), Type.Literal('session')]);

export const SignedInResponseSchema = Type.Object({
  user: UserSchema,
  accessToken: Type.Optional(Type.String()),
  refreshToken: Type.Optional(Type.String()),
  tokenType: Type.Optional(Type.Literal('Bearer')),
  expiresIn: Type.Optional(Type.Integer({ description: "Seconds until the access token's exp" })),
}, { description: 'By mode: token, { user, accessToken, refreshToken, tokenType, expiresIn }; cookie, the same without refreshToken (it is in an HttpOnly cookie); session, { user } and a session cookie' });

export const MfaChallengeSchema = Type.Object(
  {
    mfaRequired: Type.Literal(true),
    mfaTicket: Type.String({ description: 'For POST /auth/mfa/verify: single use, 5 minutes, dead after 5 wrong codes' }),
    methods: Type.Array(Type.Union([Type.Literal('totp'), Type.Literal('webauthn'), Type.Literal('recovery_code')])),
    expiresIn: Type.Integer({ description: 'Seconds the ticket lives' }),
  },
  { description: 'The account has a second factor: no session, token or cookie yet; finish with POST /auth/mfa/verify' },
);

/** A sign-in's answer: signed in (by mode), or the second-factor challenge. */
export const LoginResponseSchema = Type.Union([SignedInResponseSchema, MfaChallengeSchema]);

export const UserResponseSchema = Type.Object({ user: UserSchema });

export const AdminUserSchema = Type.Intersect([UserSchema, Type.Object({ disabled: Type.Boolean(), disabledAt: Type.Union([DateTime, Type.Null()]) })]);
export const AdminUserResponseSchema = Type.Object({ user: AdminUserSchema });

// Bounds well above the policy's, so that the policy (not the schema) explains what is wrong; the policy's own
// bounds are written into the OpenAPI document (documented.ts).
export const EmailField = documented(Type.String({ maxLength: 320 }), {
  format: 'email',
  maxLength: 254,
  description: 'Trimmed and lower-cased before use; at most 254 characters (local@domain.tld)',
});
/** A password presented to sign in or to confirm a change: whatever it is, it is only compared. */
export const PasswordField = Type.String({ maxLength: 4096 });
/** A password being chosen: the password policy applies. */
export const NewPasswordField = documented(Type.String({ maxLength: 4096 }), (config) => ({
  minLength: config.passwordMinLength,
  maxLength: config.passwordMaxLength,
  description: `${config.passwordMinLength} to ${config.passwordMaxLength} characters (longer is refused, never truncated); not the e-mail address; not a common password`,
}));
export const NameField = documented(Type.String({ maxLength: 1000 }), {
  minLength: 1,
  maxLength: 100,
  description: 'Trimmed; 1 to 100 characters after trimming, no control characters',
});
/** An opaque page cursor, as the previous page's nextCursor gave it. */
export const CursorField = documented(Type.String({ maxLength: 200 }), { pattern: '^[A-Za-z0-9_-]{48}$', description: "The previous page's nextCursor, unchanged" });
/** A role name: one of ROLES (user and admin, plus those configured). */
export const RoleField = documented(Type.String({ maxLength: 32 }), (config) => ({ minLength: 1, enum: [...config.roles], description: 'One of the configured roles' }));

/** A session as its user (GET /auth/sessions) and admins (GET /admin/users/:id/sessions) see it. */
export const SessionSchema = Type.Object({
  id: Type.String(),
  createdAt: DateTime,
  lastUsedAt: DateTime,
  expiresAt: DateTime,
  userAgent: Type.Union([Type.String(), Type.Null()]),
  device: Type.String({ description: 'The user agent, readable: "Chrome on macOS", or its first product token ("curl")' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});

const OrNull = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** GET /auth/export: every field is described in users/export-account.ts. */
export const AccountExportSchema = Type.Object(
  {
    exportedAt: DateTime,
    user: Type.Intersect([
      AdminUserSchema,
      Type.Object({
        updatedAt: DateTime,
        hasPassword: Type.Boolean(),
        locale: Type.Union([LocaleField, Type.Null()], { description: "The language of pages and e-mails the user chose; null follows the browser's Accept-Language" }),
      }),
    ]),
    sessions: Type.Array(
      Type.Intersect([
        SessionSchema,
        Type.Object({ signInMethods: Type.Array(Type.String()), lastSignInAt: DateTime, endedAt: OrNull(DateTime), endReason: OrNull(Type.String()) }),
      ]),
    ),
    identities: Type.Array(Type.Object({ provider: Type.String(), subject: Type.String(), email: OrNull(Type.String()), emailVerified: Type.Boolean(), linkedAt: DateTime })),
    factors: Type.Array(
      Type.Object({ id: Type.String(), type: Type.String(), name: Type.String(), createdAt: DateTime, lastUsedAt: OrNull(DateTime), confirmed: Type.Boolean() }),
    ),
    recoveryCodesLeft: Type.Integer(),
    pendingMfaReset: OrNull(Type.Object({ requestedAt: DateTime, dueAt: DateTime })),
    apiKeys: Type.Array(
      Type.Object({
        id: Type.String(),
        name: Type.String(),
        prefix: Type.String(),
        scopes: Type.Array(Type.String()),
        createdAt: DateTime,
        lastUsedAt: OrNull(DateTime),
        expiresAt: OrNull(DateTime),
        revokedAt: OrNull(DateTime),
      }),
    ),
    auditEvents: Type.Array(
      Type.Object({
        id: Type.String(),
        at: DateTime,
        type: Type.String(),
        sessionId: OrNull(Type.String()),
        ip: OrNull(Type.String()),
        userAgent: OrNull(Type.String()),
        detail: OrNull(Type.Record(Type.String(), Type.Any())),
      }),
    ),
    connectedApps: Type.Array(Type.Object({ clientId: Type.String(), name: Type.String(), scopes: Type.Array(Type.String()), grantedAt: DateTime })),
  },
  { description: 'Everything the server holds about the caller; never a password hash, key, secret or token' },
);
