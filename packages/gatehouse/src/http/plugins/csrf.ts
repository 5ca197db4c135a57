// CSRF for cookie-authenticated writes: a signed double-submit token. The nonce sits in an HttpOnly cookie;
// the token is HMAC(server key, nonce), so a site that cannot read our responses cannot produce it.
import type { FastifyRequest } from 'fastify';
import type { Context } from '../../context.ts';
import { deriveKey, hmac, randomToken, safeEqual } from '../../crypto/random.ts';
import { AppError } from '../../errors.ts';
import { csrfCookieName } from '../cookies.ts';

export class Csrf {
  private readonly key: Buffer;
  private readonly cookie: string;

  constructor(ctx: Context) {
    this.key = deriveKey(ctx.config.secret, 'csrf');
    this.cookie = csrfCookieName(ctx.config);
  }

  /** The nonce to keep (the cookie's if valid-looking, else a new one) and the token for it. */
  issue(request: FastifyRequest): { nonce: string; token: string; isNew: boolean } {
    const existing = request.cookies[this.cookie];
    const nonce = existing && /^[A-Za-z0-9_-]{43}$/.test(existing) ? existing : randomToken();
    return { nonce, token: hmac(this.key, nonce), isNew: nonce !== existing };
  }

  verify(request: FastifyRequest): void {
    const nonce = request.cookies[this.cookie];
    const header = request.headers['x-csrf-token'];
    if (!nonce || typeof header !== 'string' || !safeEqual(header, hmac(this.key, nonce))) throw new AppError('csrf_failed');
  }
}

export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
