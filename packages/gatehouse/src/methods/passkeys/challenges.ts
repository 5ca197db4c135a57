// WebAuthn challenges: 256 random bits, single use, five minutes, kept in the shared state under their hash
// (so any instance can finish a ceremony another started) together with the ceremony they were issued for. A
// challenge is taken, not read: it works once however many requests race with it, and one issued for another
// ceremony (a registration's challenge in a sign-in, another user's, another MFA ticket's) is refused.
import { randomBytes } from 'node:crypto';
import type { Context } from '../../context.ts';
import { sha256 } from '../../crypto/random.ts';

export const CHALLENGE_TTL_MS = 5 * 60_000;
const KEY = 'webauthn:challenge:';

/**
 * What a challenge was issued for. `register`: adding a passkey to `userId` from session `sessionId`.
 * `login`: a first-factor sign-in, usernameless (`userId` undefined) or for the account an e-mail named
 * (`userId` that account's id, or null when none has it). `mfa`: the second step of the ticket whose hash is
 * `ticket`. `reauth`: step-up of session `sessionId`.
 */
export type Ceremony =
  | { kind: 'register'; userId: string; sessionId: string }
  | { kind: 'login'; userId?: string | null }
  | { kind: 'mfa'; userId: string; ticket: string }
  | { kind: 'reauth'; userId: string; sessionId: string };

/** A new challenge (base64url) bound to `ceremony`. */
export async function issueChallenge(ctx: Context, ceremony: Ceremony): Promise<string> {
  const challenge = randomBytes(32).toString('base64url');
  await ctx.state.put(KEY + sha256(challenge), JSON.stringify({ ...ceremony, expiresAt: ctx.now() + CHALLENGE_TTL_MS }), CHALLENGE_TTL_MS);
  return challenge;
}

/**
 * Takes the challenge a response signed (from its clientDataJSON) and returns it when it was issued for a
 * ceremony `accepts` agrees with; null when it is unknown, used, expired or for something else. Taken either
 * way: a refused response burns its challenge, so nothing can be tried twice with one.
 */
export async function takeChallenge(ctx: Context, clientDataJSON: unknown, accepts: (ceremony: Ceremony) => boolean): Promise<{ challenge: string; ceremony: Ceremony } | null> {
  const challenge = challengeOf(clientDataJSON);
  if (challenge === null) return null;
  const raw = await ctx.state.take(KEY + sha256(challenge));
  if (!raw) return null;
  const stored = JSON.parse(raw) as Ceremony & { expiresAt: number };
  if (stored.expiresAt <= ctx.now()) return null;
  const { expiresAt: _expiresAt, ...ceremony } = stored;
  return accepts(ceremony as Ceremony) ? { challenge, ceremony: ceremony as Ceremony } : null;
}

/** The challenge inside a response's clientDataJSON (base64url JSON), or null when there is none to read. */
function challengeOf(clientDataJSON: unknown): string | null {
  if (typeof clientDataJSON !== 'string' || clientDataJSON.length > 8192) return null;
  try {
    const parsed = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof parsed.challenge === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(parsed.challenge) ? parsed.challenge : null;
  } catch {
    return null;
  }
}
