// Accounts: sign-up, profile and password changes.
import { auditEvent, recordEvent } from '../audit/service.ts';
import type { ClientInfo, Context } from '../context.ts';
import { uuidv7 } from '../crypto/random.ts';
import { AppError, validationError, type FieldError } from '../errors.ts';
import { endUserSessions, prepareSession, type IssuedSession } from '../sessions/service.ts';
import type { LoginMode } from '../sessions/store.ts';
import { checkLoginAllowed, consumeSignupAttempt, recordLoginFailure } from '../sessions/throttle.ts';
import { sendVerificationEmail } from '../recovery/service.ts';
import { passwordChangedMail } from '../recovery/templates.ts';
import { checkEmail, checkName, checkPassword, normalizeEmail, normalizeName } from './policy.ts';
import type { User } from './store.ts';

export interface RegisterInput {
  email: string;
  password: string;
  name?: string;
  mode: LoginMode;
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
}

/** Creates a user; the e-mail's local part is the name when none is given. */
export async function createUser(ctx: Context, input: NewAccount): Promise<User> {
  const created = await ctx.users.create(await newUser(ctx, input));
  if (!created) throw new AppError('email_taken');
  return created;
}

/** Checks a new account and hashes its password: the user row, not yet stored. */
async function newUser(ctx: Context, input: NewAccount, lastLoginAt: number | null = null): Promise<User> {
  const email = normalizeEmail(input.email);
  const name = normalizeName(input.name ?? email.split('@')[0]!.slice(0, 100));
  if (input.password !== null) checkNewAccount(ctx, email, input.password, name);
  else {
    const problems = [checkEmail(email), checkName(name)].filter((p): p is FieldError => p !== null);
    if (problems.length) throw validationError(problems);
  }
  const role = input.role ?? 'user';
  if (!ctx.config.roles.includes(role)) throw validationError([{ field: 'role', message: `Unknown role: ${role}` }]);
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
    lastLoginAt,
  };
}

export async function register(ctx: Context, input: RegisterInput, client: ClientInfo): Promise<IssuedSession & { user: User }> {
  await consumeSignupAttempt(ctx, client.ip);
  const user = await newUser(ctx, { email: input.email, password: input.password, name: input.name }, ctx.now());
  // The user, its first session and the audit event are written together: a crash or an outage half-way
  // must not leave an account that was never acknowledged, or one without the session it was created with.
  const first = prepareSession(ctx, user, input.mode, client);
  const event = auditEvent(ctx, 'register', { userId: user.id, sessionId: first.session.id, client, detail: { mode: input.mode } });
  if (!(await ctx.users.createWithSession(user, first.session, first.secret, event))) throw new AppError('email_taken');
  ctx.metrics?.event('register');
  const issued = await first.issue();
  sendVerificationEmail(ctx, user);
  return { ...issued, user };
}

export async function getUser(ctx: Context, userId: string): Promise<User> {
  const user = await ctx.users.findById(userId);
  if (!user) throw new AppError('token_revoked');
  return user;
}

export async function updateProfile(ctx: Context, userId: string, input: { name?: string }): Promise<User> {
  if (input.name === undefined) return getUser(ctx, userId);
  const name = normalizeName(input.name);
  const problem = checkName(name);
  if (problem) throw validationError([problem]);
  const user = await ctx.users.update(userId, { name }, ctx.now());
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
  ctx.background.run('password changed notice', () => ctx.mailer.send(passwordChangedMail(user.email, ctx.config.brandName, new Date(now))));
}
