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


export interface IdentityStore {
  find(provider: string, subject: string): Promise<Identity | null>;
  listByUser(userId: string): Promise<Identity[]>;
  /** Links an identity to an existing user; false when that (provider, subject) is already linked. */
  link(identity: Identity): Promise<boolean>;
  /** Records what the provider said at the latest sign-in. */
  updateProfile(provider: string, subject: string, email: string | null, emailVerified: boolean): Promise<void>;
  /** Removes the user's identities at `provider`; how many there were. */
  deleteByProvider(userId: string, provider: string): Promise<number>;
}
