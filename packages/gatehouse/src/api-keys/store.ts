export interface ApiKey {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  hash: string;
  scopes: string[];
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface ApiKeyStore {
  create(key: ApiKey): Promise<void>;
  findByPrefix(prefix: string): Promise<ApiKey | null>;
  listLive(userId: string, now: number): Promise<ApiKey[]>;
  /** Every key of the user, revoked and expired ones too, newest first: the account export. */
  listByUser(userId: string): Promise<ApiKey[]>;
  countLive(userId: string, now: number): Promise<number>;
  /** Revokes one of the user's keys; false when it is not theirs or already revoked. */
  revoke(userId: string, id: string, now: number): Promise<boolean>;
  touch(id: string, now: number): Promise<void>;
}

export interface PublicApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toPublicApiKey(key: ApiKey): PublicApiKey {
  return { id: key.id, name: key.name, prefix: key.prefix, scopes: key.scopes, createdAt: iso(key.createdAt)!, lastUsedAt: iso(key.lastUsedAt), expiresAt: iso(key.expiresAt) };
}
