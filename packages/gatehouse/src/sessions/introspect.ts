// Token introspection (RFC 7662): is this access token or API key live right now?
import { resolveApiKey, looksLikeApiKey } from '../api-keys/service.ts';
import type { Context } from '../context.ts';
import { isSessionRevoked } from './revocation.ts';

export type Introspection =
  | { active: false }
  | { active: true; token_type: 'access_token'; sub: string; sid: string; role: string; amr: string[]; exp: number; iat: number; jti: string; iss: string; aud: string }
  | { active: true; token_type: 'api_key'; sub: string; role: string; scope: string; exp?: number; iat: number; key_id: string };

const INACTIVE: Introspection = { active: false };

/** Expired, revoked, forged and malformed tokens all answer `{ active: false }`, indistinguishably. */
export async function introspect(ctx: Context, token: string): Promise<Introspection> {
  if (looksLikeApiKey(token)) {
    const resolved = await resolveApiKey(ctx, token);
    if (!resolved) return INACTIVE;
    const { key, user } = resolved;
    return {
      active: true,
      token_type: 'api_key',
      sub: user.id,
      role: user.role,
      scope: key.scopes.join(' '),
      ...(key.expiresAt === null ? {} : { exp: Math.floor(key.expiresAt / 1000) }),
      iat: Math.floor(key.createdAt / 1000),
      key_id: key.id,
    };
  }
  try {
    const claims = await ctx.tokens.verify(token, ctx.now());
    if (await isSessionRevoked(ctx, claims.sid)) return INACTIVE;
    return { active: true, token_type: 'access_token', ...claims, iss: ctx.config.publicUrl, aud: ctx.config.jwtAudience };
  } catch {
    return INACTIVE;
  }
}
