// The admin users API: list, read, change role/name/verification/disabled, delete.
import { recordEvent } from '../audit/service.ts';
import type { ClientInfo, Context } from '../context.ts';
import { UUID_PATTERN } from '../crypto/random.ts';
import { AppError, validationError } from '../errors.ts';
import { endUserSessions } from '../sessions/service.ts';
import { checkName, normalizeName } from '../users/policy.ts';
import { deleteAccount } from '../users/delete-account.ts';
import type { User, UserPatch } from '../users/store.ts';

export interface UserPage {
  users: User[];
  nextCursor: string | null;
}

const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!UUID_PATTERN.test(id)) throw validationError([{ field: 'cursor', message: 'Invalid cursor' }]);
  return id;
}

export async function listUsers(ctx: Context, query: { q?: string; limit?: number; cursor?: string; disabled?: boolean }): Promise<UserPage> {
  const limit = query.limit ?? 50;
  const users = await ctx.users.list({
    q: query.q?.trim() || undefined,
    disabled: query.disabled,
    limit: limit + 1,
    afterId: query.cursor ? decodeCursor(query.cursor) : undefined,
  });
  const page = users.slice(0, limit);
  const last = page[page.length - 1];
  return { users: page, nextCursor: users.length > limit && last ? encodeCursor(last.id) : null };
}

export async function getUserById(ctx: Context, id: string): Promise<User> {
  const user = UUID_PATTERN.test(id) ? await ctx.users.findById(id) : null;
  if (!user) throw new AppError('not_found', { message: 'User not found' });
  return user;
}

export interface AdminPatch {
  role?: string;
  name?: string;
  emailVerified?: boolean;
  disabled?: boolean;
}

/** Refuses a change that would leave no enabled admin: nobody could sign in to undo it. */
async function keepOneAdmin(ctx: Context, user: User, losesAdmin: boolean): Promise<void> {
  if (losesAdmin && user.role === 'admin' && user.disabledAt === null && (await ctx.users.countActiveAdmins()) <= 1) {
    throw new AppError('conflict', { message: 'This is the last enabled admin; make another admin first' });
  }
}

export interface Actor {
  userId: string;
  client: ClientInfo;
}

export async function patchUser(ctx: Context, id: string, input: AdminPatch, actor: Actor): Promise<User> {
  const user = await getUserById(ctx, id);
  const patch: UserPatch = {};
  const now = ctx.now();
  if (input.role !== undefined) {
    if (!ctx.config.roles.includes(input.role)) {
      throw validationError([{ field: 'role', message: `Role must be one of ${ctx.config.roles.join(', ')}` }]);
    }
    patch.role = input.role;
  }
  if (input.name !== undefined) {
    const name = normalizeName(input.name);
    const problem = checkName(name);
    if (problem) throw validationError([problem]);
    patch.name = name;
  }
  if (input.emailVerified !== undefined) patch.emailVerifiedAt = input.emailVerified ? (user.emailVerifiedAt ?? now) : null;
  if (input.disabled !== undefined) patch.disabledAt = input.disabled ? (user.disabledAt ?? now) : null;

  const roleChanged = patch.role !== undefined && patch.role !== user.role;
  const disabling = input.disabled === true && user.disabledAt === null;
  // Under REQUIRE_EMAIL_VERIFICATION an unverified account holds no live credential (see sign-in/access-policy.ts).
  const unverifying = input.emailVerified === false && user.emailVerifiedAt !== null && ctx.config.requireEmailVerification;
  await keepOneAdmin(ctx, user, (roleChanged && patch.role !== 'admin') || disabling);

  const updated = await ctx.users.update(id, patch, now);
  if (!updated) throw new AppError('not_found', { message: 'User not found' });
  // Access tokens carry the role: after a change, or when disabled, none of the old ones may be honoured.
  if (roleChanged || disabling || unverifying) await endUserSessions(ctx, id, disabling ? 'user_disabled' : roleChanged ? 'role_changed' : 'email_unverified');
  const by = { userId: id, client: actor.client };
  if (roleChanged) await recordEvent(ctx, 'role_changed', { ...by, detail: { from: user.role, to: updated.role, by: actor.userId } });
  if (disabling) await recordEvent(ctx, 'user_disabled', { ...by, detail: { by: actor.userId } });
  if (input.disabled === false && user.disabledAt !== null) await recordEvent(ctx, 'user_enabled', { ...by, detail: { by: actor.userId } });
  return updated;
}

/** The same erasure as DELETE /auth/me (users/delete-account.ts), asked for by an admin. */
export async function deleteUser(ctx: Context, id: string, actor: Actor): Promise<void> {
  await deleteAccount(ctx, await getUserById(ctx, id), actor);
}
