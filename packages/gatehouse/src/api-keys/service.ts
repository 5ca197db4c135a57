// API keys: `gh_<prefix>_<secret>`, shown once, stored as SHA-256, found by their public prefix.
import { randomBytes } from 'node:crypto';
import { recordEvent } from '../audit/service.ts';
import type { ClientInfo, Context } from '../context.ts';
import { UUID_PATTERN, safeEqual, sha256, uuidv7 } from '../crypto/random.ts';
import { AppError, validationError } from '../errors.ts';
import { mayAct } from '../sign-in/access-policy.ts';
import type { User } from '../users/store.ts';
import type { ApiKey } from './store.ts';

const KEY_PATTERN = /^gh_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
export const SCOPE_PATTERN = /^[a-z][a-z0-9:._-]{0,39}$/;
const MAX_KEYS_PER_USER = 50;
// Writing last_used_at on every request would turn every read into a write.
const TOUCH_INTERVAL_MS = 60_000;

export function looksLikeApiKey(value: string): boolean {
  return value.startsWith('gh_') && !value.startsWith('ghr_') && !value.startsWith('ghs_');
}

/** The scope that lets a key read anybody's token through /auth/introspect: only an admin may grant it. */
export const INTROSPECT_SCOPE = 'introspect';

/**
 * Who may introspect: an admin, by session, token or API key (a key with scope introspect can only be an
 * admin's). The owner's role is read at each request, so a key stops introspecting when its owner stops
 * being an admin.
 */
export function mayIntrospect(caller: { role: string }): boolean {
  return caller.role === 'admin';
}

export async function listApiKeys(ctx: Context, userId: string): Promise<ApiKey[]> {
  return ctx.apiKeys.listLive(userId, ctx.now());
}

export interface NewApiKey {
  name: string;
  scopes?: string[];
  expiresAt?: string;
}

export async function createApiKey(ctx: Context, owner: { userId: string; role: string }, input: NewApiKey, client: ClientInfo): Promise<{ key: ApiKey; secret: string }> {
  const { userId } = owner;
  const now = ctx.now();
  const name = input.name.trim();
  const problems = [];
  if (name.length < 1 || name.length > 100) problems.push({ field: 'name', message: 'Name must be 1 to 100 characters' });
  const scopes = [...new Set(input.scopes ?? [])];
  if (scopes.length > 20 || scopes.some((s) => !SCOPE_PATTERN.test(s))) problems.push({ field: 'scopes', message: 'Scopes are up to 20 lower-case names (a-z, 0-9, : . _ -)' });
  let expiresAt: number | null = null;
  if (input.expiresAt !== undefined) {
    expiresAt = Date.parse(input.expiresAt);
    if (Number.isNaN(expiresAt) || expiresAt <= now) problems.push({ field: 'expiresAt', message: 'expiresAt must be a date-time in the future' });
  }
  if (problems.length) throw validationError(problems);
  if (scopes.includes(INTROSPECT_SCOPE) && owner.role !== 'admin') {
    throw new AppError('forbidden', { message: 'Only an admin may create a key with scope introspect' });
  }
  if ((await ctx.apiKeys.countLive(userId, now)) >= MAX_KEYS_PER_USER) {
    throw new AppError('conflict', { message: `At most ${MAX_KEYS_PER_USER} live API keys per user; revoke one first` });
  }
  const prefix = randomBytes(6).toString('hex');
  const secret = `gh_${prefix}_${randomBytes(32).toString('base64url')}`;
  const key: ApiKey = { id: uuidv7(now), userId, name, prefix, hash: sha256(secret), scopes, createdAt: now, lastUsedAt: null, expiresAt, revokedAt: null };
  await ctx.apiKeys.create(key);
  await recordEvent(ctx, 'api_key_created', { userId, client, detail: { keyId: key.id, prefix, name } });
  return { key, secret };
}

export async function revokeApiKey(ctx: Context, userId: string, id: string, client: ClientInfo): Promise<void> {
  if (!UUID_PATTERN.test(id) || !(await ctx.apiKeys.revoke(userId, id, ctx.now()))) throw new AppError('not_found', { message: 'API key not found' });
  await recordEvent(ctx, 'api_key_revoked', { userId, client, detail: { keyId: id } });
}

/** The live key and its enabled owner, or null: callers answer every failure the same way. */
export async function resolveApiKey(ctx: Context, presented: string): Promise<{ key: ApiKey; user: User } | null> {
  const match = KEY_PATTERN.exec(presented);
  if (!match) return null;
  const key = await ctx.apiKeys.findByPrefix(match[1]!);
  const now = ctx.now();
  if (!key || !safeEqual(key.hash, sha256(presented))) return null;
  if (key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= now)) return null;
  const user = await ctx.users.findById(key.userId);
  if (!mayAct(ctx.config, user)) return null;
  if (key.lastUsedAt === null || now - key.lastUsedAt >= TOUCH_INTERVAL_MS) await ctx.apiKeys.touch(key.id, now);
  return { key, user };
}
