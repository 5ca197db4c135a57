// Second factors: TOTP secrets and WebAuthn credentials (passkeys) in one model, and recovery codes.
export type FactorType = 'totp' | 'webauthn';

/** What a `webauthn` factor keeps of its credential (nothing of it is secret: the private key never leaves the authenticator). */
export interface PasskeyCredential {
  /** base64url; unique across every account. */
  credentialId: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  /** The last signature counter seen (0 for authenticators that keep none). */
  counter: number;
  transports: string[];
  /** The authenticator verified the user (PIN, biometrics) at registration. */
  userVerified: boolean;
  /** A discoverable credential (usernameless sign-in), when the browser said (credProps); null when it did not. */
  discoverable: boolean | null;
  /** Multi-device (synced) credential, and whether it is backed up, as last seen. */
  backupEligible: boolean;
  backedUp: boolean;
  aaguid: string;
}

export interface Factor {
  id: string;
  userId: string;
  type: FactorType;
  name: string;
  /** Sealed TOTP secret; null for other types. */
  secret: string | null;
  lastUsedStep: number | null;
  /** Null while pending: enrolled but never proven with a code. Only confirmed factors count. */
  confirmedAt: number | null;
  createdAt: number;
  lastUsedAt: number | null;
  /** For `webauthn` factors; null (or absent) for others. */
  webauthn?: PasskeyCredential | null;
}

export interface FactorStore {
  create(factor: Factor): Promise<void>;
  find(id: string): Promise<Factor | null>;
  /** Every factor of the user, confirmed or pending, oldest first. */
  listByUser(userId: string): Promise<Factor[]>;
  countConfirmed(userId: string): Promise<number>;
  confirm(id: string, now: number): Promise<boolean>;
  /**
   * Accepts TOTP time step `step` for the factor if no step at or after it was accepted before: true for
   * exactly one caller, however many race and on however many instances (RFC 6238 §5.2).
   */
  claimStep(id: string, step: number, now: number): Promise<boolean>;
  touch(id: string, now: number): Promise<void>;
  /** The `webauthn` factor with this credential id, whoever's it is. */
  findByCredentialId(credentialId: string): Promise<Factor | null>;
  /**
   * Records a passkey's use with its new signature counter: true for exactly one caller, and only when the
   * counter went forward (or the authenticator keeps none: stored and new both 0). A counter that did not go
   * forward is refused in the same statement, so two racing uses of one assertion cannot both pass.
   */
  updateCounter(id: string, counter: number, backedUp: boolean, now: number): Promise<boolean>;
  /** Renames one of the user's factors; false when it is not theirs. */
  rename(userId: string, id: string, name: string): Promise<boolean>;
  /** Deletes one of the user's factors; false when it is not theirs. */
  delete(userId: string, id: string): Promise<boolean>;
  /** Deletes every factor and recovery code of the user; how many factors there were. */
  deleteAllOfUser(userId: string): Promise<number>;
  /** Pending factors older than `before`: abandoned enrolments. */
  deletePendingBefore(before: number): Promise<number>;

  /** Replaces the user's recovery codes with a new set: the old ones stop working. */
  replaceRecoveryCodes(userId: string, hashes: string[], now: number): Promise<void>;
  /** Uses a code: true for exactly one caller. */
  useRecoveryCode(userId: string, hash: string, now: number): Promise<boolean>;
  countRecoveryCodes(userId: string): Promise<number>;

  /** Starts a reset of every factor, due at `dueAt`; false (and the first one kept) when one is already pending. */
  startReset(reset: PendingReset): Promise<boolean>;
  findReset(userId: string): Promise<PendingReset | null>;
  /** Drops the user's pending reset: true for exactly one caller when there was one. */
  cancelReset(userId: string): Promise<boolean>;
  /** Users whose reset is due at `now`, oldest first. */
  listDueResets(now: number, limit: number): Promise<string[]>;
  /** Takes a due reset off the list: true for exactly one caller, who then removes the factors. */
  claimDueReset(userId: string, now: number): Promise<boolean>;
}

export interface PendingReset {
  userId: string;
  requestedAt: number;
  dueAt: number;
}

export interface PublicFactor {
  id: string;
  type: FactorType;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export function toPublicFactor(factor: Factor): PublicFactor {
  return {
    id: factor.id,
    type: factor.type,
    name: factor.name,
    createdAt: new Date(factor.createdAt).toISOString(),
    lastUsedAt: factor.lastUsedAt === null ? null : new Date(factor.lastUsedAt).toISOString(),
  };
}
