export type OneTimePurpose = 'verify_email' | 'reset_password' | 'mfa_reset' | 'not_me';

export interface OneTimeToken {
  hash: string;
  userId: string;
  purpose: OneTimePurpose;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export interface OneTimeTokenStore {
  /** Stores a new token and retires every older unused token of the same user and purpose. */
  replace(token: OneTimeToken): Promise<void>;
  /** The token if it is unused and unexpired; reading does not use it. */
  findUsable(hash: string, purpose: OneTimePurpose, now: number): Promise<OneTimeToken | null>;
  /** Uses the token: true for exactly one caller, however many race. */
  consume(hash: string, purpose: OneTimePurpose, now: number): Promise<boolean>;
}
