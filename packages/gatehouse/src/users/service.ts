// Accounts: sign-up, profile and password changes.
import { auditEvent, recordEvent } from '../audit/service.ts';
import type { ClientInfo, Context, Stores } from '../context.ts';
import { uuidv7 } from '../crypto/random.ts';
import { AppError, validationError, type FieldError } from '../errors.ts';
import { endUserSessions } from '../sessions/service.ts';
import type { LoginMode } from '../sessions/store.ts';
import { checkLoginAllowed, consumeSignupAttempt, recordLoginFailure } from '../sessions/throttle.ts';
import { signInRefusal } from '../sign-in/access-policy.ts';
import { AMR } from '../sign-in/amr.ts';
import { writeSignIn, type SignInResult, type WrittenSignIn } from '../sign-in/complete-sign-in.ts';
import { allowVerificationMail, queueVerificationEmail } from '../recovery/service.ts';
import { passwordChangedMail } from '../recovery/templates.ts';
import { initialLocale, mailTranslator } from '../i18n/mail-locale.ts';
import { checkEmail, checkName, checkPassword, normalizeEmail, normalizeName } from './policy.ts';
import type { User, UserPatch } from './store.ts';
import type { Locale } from '../i18n/index.ts';

export interface RegisterInput {
  email: string;
  password: string;
  name?: string;
  mode: LoginMode;
  /** The language the account signs up in (the page's, or the API request's Accept-Language): kept as its preference. */
  locale?: Locale;
}

function policy(ctx: Context) {
  return { minLength: ctx.config.passwordMinLength, maxLength: ctx.config.passwordMaxLength };
}

/** Checks every field before anything is written, and reports all problems at once. */
function checkNewAccount(ctx: Context, email: string, password: string, name: string): void {
  const problems = [checkEmail(email), checkPassword(password, email, policy(ctx)), checkName(name)].filter(
    (p): p is FieldError => p !== null,
  );
  if (problems.length) throw validationError(problems);
}

export interface NewAccount {
  email: string;
  password: string | null;
  name?: string;
  role?: string;
  emailVerified?: boolean;
  /** The account's language (null or absent: none chosen, pages and e-mails follow the browser or DEFAULT_LOCALE). */
  locale?: Locale | null;
}

/**
 * Creates a user (the CLI's `user create`, an admin's invitation); the e-mail's local part is the name when none
 * is given. The user, its audit event and whatever `alongside` writes (an invitation) are written together.
 */
export async function createUser(
  ctx: Context,
  input: NewAccount,
  detail: Record<string, string> = {},
  alongside?: (tx: Stores, user: User) => Promise<void>,
): Promise<User> {
  const user = await newUser(ctx, checkedAccount(ctx, input));
  await ctx.transaction(async (tx) => {
    if (!(await tx.users.create(user))) throw new AppError('email_taken');
    await tx.audit.append(auditEvent(ctx, 'register', { userId: user.id, detail: { role: user.role, ...detail } }));
    await alongside?.(tx, user);
  });
  ctx.metrics.event('register');
  return user;
}

interface CheckedAccount extends NewAccount {
  email: string;
  name: string;
  role: string;
}

/** Checks every field of a new account before anything is counted, hashed or written. */
function checkedAccount(ctx: Context, input: NewAccount): CheckedAccount {
  const email = normalizeEmail(input.email);
  const name = normalizeName(input.name ?? email.split('@')[0]!.slice(0, 100));
  if (input.password !== null) checkNewAccount(ctx, email, input.password, name);
  else {
    const problems = [checkEmail(email), checkName(name)].filter((p): p is FieldError => p !== null);
    if (problems.length) throw validationError(problems);
  }
  const role = input.role ?? 'user';
  if (!ctx.config.roles.includes(role)) throw validationError([{ field: 'role', message: `Unknown role: ${role}` }]);
  return { ...input, email, name, role };
}

/** Hashes the password of a checked account: the user row, not yet stored. */
async function newUser(ctx: Context, input: CheckedAccount): Promise<User> {
  const { email, name, role } = input;
  if (await ctx.users.findByEmail(email)) throw new AppError('email_taken');
  const now = ctx.now();
  return {
    id: uuidv7(now),
    email,
    name,
    role,
    passwordHash: input.password === null ? null : await ctx.passwords.hash(input.password),
    emailVerifiedAt: input.emailVerified ? now : null,
    disabledAt: null,
    createdAt: now,
    updatedAt: now,
    lastLoginAt: null,
    locale: initialLocale(input.locale),
  };
}

/** A new account: signed in at once, or (under REQUIRE_EMAIL_VERIFICATION) only created, with no session. */
export type Registration = SignInResult | { kind: 'created'; user: User };

export async function register(ctx: Context, input: RegisterInput, client: ClientInfo): Promise<Registration> {
  // Only a well-formed attempt counts toward the sign-up limit: typos must not lock an address out.
  const checked = checkedAccount(ctx, { email: input.email, password: input.password, name: input.name, locale: input.locale });
  await consumeSignupAttempt(ctx, client.ip);
  const user = await newUser(ctx, checked);
  const mailVerification = await allowVerificationMail(ctx, user);
  // The user, its first session, the audit event and the verification e-mail are written together: a crash or
  // an outage half-way must not leave an account that was never acknowledged, one without the session it was
  // created with, or one whose confirmation link never goes out.
  const written = await ctx.transaction(async (tx): Promise<WrittenSignIn | null> => {
    if (!(await tx.users.create(user))) throw new AppError('email_taken');
    if (mailVerification) await queueVerificationEmail(ctx, tx, user);
    if (signInRefusal(ctx.config, user) !== null) {
      await tx.audit.append(auditEvent(ctx, 'register', { userId: user.id, client, detail: { mode: input.mode, signedIn: false } }));
      return null;
    }
    return writeSignIn(ctx, { user, amr: [AMR.password], mode: input.mode, client, auditType: 'register' }, tx);
  });
  if (mailVerification) ctx.mailer.kick();
  if (written) return written.finish();
  ctx.metrics.event('register');
  return { kind: 'created', user };
}

export async function getUser(ctx: Context, userId: string): Promise<User> {
  const user = await ctx.users.findById(userId);
  if (!user) throw new AppError('token_revoked');
  return user;
}

/** The name and the language of pages and e-mails (null: follow the browser); absent fields stay as they are. */
export async function updateProfile(ctx: Context, userId: string, input: { name?: string; locale?: Locale | null }): Promise<User> {
  const patch: UserPatch = {};
  if (input.name !== undefined) {
    const name = normalizeName(input.name);
    const problem = checkName(name);
    if (problem) throw validationError([problem]);
    patch.name = name;
  }
  if (input.locale !== undefined) patch.locale = input.locale;
  if (Object.keys(patch).length === 0) return getUser(ctx, userId);
  const user = await ctx.users.update(userId, patch, ctx.now());
  if (!user) throw new AppError('token_revoked');
  return user;
}

/** Changes the password and ends every other session of the user; the current one stays signed in. */
export async function changePassword(
  ctx: Context,
  userId: string,
  currentSessionId: string,
  input: { currentPassword: string; newPassword: string },
  client: ClientInfo,
  locale?: Locale,
): Promise<void> {
  const user = await getUser(ctx, userId);
  if (user.passwordHash === null) {
    throw validationError([{ field: 'currentPassword', message: 'This account has no password yet: use forgot-password to set one' }]);
  }
  // A stolen access token must not become a way to guess the password: the login limits apply here too.
  await checkLoginAllowed(ctx, user.email, client.ip);
  const check = await ctx.passwords.verify(user.passwordHash, input.currentPassword);
  if (!check.ok) {
    await recordLoginFailure(ctx, user.email, client.ip);
    throw validationError([{ field: 'currentPassword', message: 'The current password is wrong' }]);
  }
  const problem = checkPassword(input.newPassword, user.email, policy(ctx), 'newPassword');
  if (problem) throw validationError([problem]);
  if (input.newPassword === input.currentPassword) {
    throw validationError([{ field: 'newPassword', message: 'The new password must differ from the current one' }]);
  }
  const now = ctx.now();
  await ctx.users.update(userId, { passwordHash: await ctx.passwords.hash(input.newPassword) }, now);
  const ended = await endUserSessions(ctx, userId, 'password_changed', currentSessionId);
  await recordEvent(ctx, 'password_changed', { userId, sessionId: currentSessionId, client, detail: { sessionsEnded: ended } });
  ctx.background.run('password changed notice', () => ctx.mailer.send(passwordChangedMail(mailTranslator(ctx, user, locale), user.email, ctx.config.brandName, now, 'changed')));
}
