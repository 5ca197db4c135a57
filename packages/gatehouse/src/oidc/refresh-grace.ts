// The refresh-token reuse grace for the provider's clients, as Gatehouse's own refresh tokens have it (CONTRACT,
// Tokens; sessions/rotate-refresh-token.ts): within REFRESH_REUSE_GRACE after a rotation, presenting the
// just-rotated token again returns the same successor again, still unused; concurrent refreshes of one token
// never yield two different live successors; anything else (after the grace, or once the successor was used)
// is reuse, which revokes the grant.
//
// oidc-provider has neither: it reads the token, refuses and revokes the grant if it is consumed, else consumes
// it and saves a successor with a random id, so two tabs refreshing at once either get two live successors
// (both read it unconsumed) or revoke the grant (the second read it consumed). Two small pieces around it,
// without touching its refresh_token grant:
// 1. The successor's id is derived from the presented token's under a server key (HMAC-SHA256, 43 base64url
//    characters, as long as its random ids), the way Gatehouse derives its own successors: a refresh that
//    rotates token X saves, and answers, the same successor S(X) whoever runs it, so concurrent refreshes write
//    one row (an upsert of the same id) and answer one value. `RefreshToken.prototype.generateTokenId` is
//    replaced on each provider (as compareClientSecret is); it uses the request's context (oidc-provider's
//    AsyncLocalStorage, `Provider.ctx`) to see that the token being made succeeds `RotatedRefreshToken`, and
//    otherwise (the first refresh token of a code exchange) keeps the random id.
// 2. The adapter's `find` of a RefreshToken that is consumed answers it as not consumed when it was consumed
//    within the grace and its successor S(X) is not consumed (or not saved yet: a concurrent rotation in
//    flight). oidc-provider then rotates it again: its consume is a no-op (the first consumption time stays,
//    so the grace runs from the first rotation), and the successor it saves is S(X) again. Anything else is
//    answered consumed, and oidc-provider's own reuse detection revokes the grant.
// What stays oidc-provider's: each refresh in the grace gets a new access token and ID token (as Gatehouse's
// own refreshes get a new access token); a successor used between the check and the save is answered anyway,
// and its next use is then reuse (as for Gatehouse's own tokens, a concurrent use of the successor is reuse).
import { createHmac } from 'node:crypto';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import type { Context } from '../context.ts';
import { deriveKey } from '../crypto/random.ts';

/** The successor's id of refresh token `id`: the same for every caller, unguessable without the server key. */
export function refreshSuccessor(ctx: Context): (id: string) => string {
  const key = deriveKey(ctx.config.secret, 'oidc-refresh-successor');
  return (id) => createHmac('sha256', key).update(id).digest('base64url');
}

/** Part 1: a rotation's successor gets the derived id instead of a random one. */
export function deriveSuccessorIds(provider: Provider, successorOf: (id: string) => string): void {
  const prototype = provider.RefreshToken.prototype as unknown as { generateTokenId(this: object): string };
  const random = prototype.generateTokenId;
  prototype.generateTokenId = function generateTokenId(this: object) {
    const koa = (Provider as unknown as { ctx?: KoaContextWithOIDC }).ctx;
    const rotated = koa?.oidc?.entities?.RotatedRefreshToken as { jti?: string } | undefined;
    if (rotated?.jti && rotated !== this) return successorOf(rotated.jti);
    return random.call(this);
  };
}

export interface RefreshGrace {
  graceMs: number;
  successorOf: (id: string) => string;
}
