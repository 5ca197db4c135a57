import type { User } from '../users/store.ts';

/** A provider account linked to a local user: who the provider says signed in. */
export interface Identity {
  provider: string;
  /** The provider's stable id of the account (`sub`, or GitHub's numeric id). */
  subject: string;
  userId: string;
  /** What the provider last said about the e-mail; informational, never used to find the account again. */
  email: string | null;
  emailVerified: boolean;
  createdAt: number;
}

export type CreateWithIdentityResult = 'created' | 'email_taken' | 'identity_taken';
export type UnlinkResult = 'unlinked' | 'not_found' | 'last_method';

export interface IdentityStore {
  find(provider: string, subject: string): Promise<Identity | null>;
  listByUser(userId: string): Promise<Identity[]>;
  /** Creates the user and its first identity in one transaction: both or neither. */
  createUserWithIdentity(user: User, identity: Identity): Promise<CreateWithIdentityResult>;
  /** Links an identity to an existing user; false when that (provider, subject) is already linked. */
  link(identity: Identity): Promise<boolean>;
  /** Records what the provider said at the latest sign-in. */
  updateProfile(provider: string, subject: string, email: string | null, emailVerified: boolean): Promise<void>;
  /**
   * Removes the user's identities at `provider`, atomically refusing when that would leave the account with
   * no way to sign in (no password and no other identity).
   */
  unlink(userId: string, provider: string): Promise<UnlinkResult>;
}
