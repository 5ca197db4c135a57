export type OneTimePurpose = 'verify_email' | 'reset_password' | 'mfa_reset' | 'not_me' | 'email_change' | 'email_change_revert';

export interface OneTimeToken {
  hash: string;
  userId: string;
  purpose: OneTimePurpose;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  /** The address the token is about (email_change: the new one; email_change_revert: the old one); else absent. */
  email?: string | null;
}

export interface OneTimeTokenStore {
  /** Stores a new token and retires every older unused token of the same user and purpose. */
  replace(token: OneTimeToken): Promise<void>;
  /** Stores a new token beside the user's others of that purpose. */
  add(token: OneTimeToken): Promise<void>;
  /** The token if it is unused and unexpired; reading does not use it. */
  findUsable(hash: string, purpose: OneTimePurpose, now: number): Promise<OneTimeToken | null>;
  /** Uses the token: true for exactly one caller, however many race. */
  consume(hash: string, purpose: OneTimePurpose, now: number): Promise<boolean>;
  /** Uses up every unused token of the user and purpose (a cancelled e-mail change); how many there were. */
  retire(userId: string, purpose: OneTimePurpose, now: number): Promise<number>;
}
