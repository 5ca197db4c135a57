import type { Locale } from '../i18n/index.ts';

export interface User {
  id: string;
  email: string;
  name: string;
  role: string;
  passwordHash: string | null;
  emailVerifiedAt: number | null;
  disabledAt: number | null;
  createdAt: number;
  updatedAt: number;
  lastLoginAt: number | null;
  /** The language chosen for pages and e-mails; null: the browser's (Accept-Language). */
  locale: Locale | null;
}

export interface UserPatch {
  name?: string;
  role?: string;
  passwordHash?: string | null;
  emailVerifiedAt?: number | null;
  disabledAt?: number | null;
  lastLoginAt?: number;
  locale?: Locale | null;
}

export interface UserListQuery {
  /** Matches a part of the e-mail or the name, case-insensitively. */
  q?: string;
  limit: number;
  /** Only ids after this one (ids are time-ordered UUIDv7). */
  afterId?: string;
  /** Only disabled (true) or only enabled (false) accounts. */
  disabled?: boolean;
}

export interface UserStore {
  /** `null` when the e-mail is taken. */
  create(user: User): Promise<User | null>;
  /** Reads the user and, inside a transaction, holds its row until the end: rules over all of a user's ways in. */
  lock(id: string): Promise<User | null>;
  findById(id: string): Promise<User | null>;
  findByEmail(email: string): Promise<User | null>;
  update(id: string, patch: UserPatch, now: number): Promise<User | null>;
  /** Sets a new address, proven by a link mailed to it (so verified at `now`); 'email_taken' when another account has it. */
  changeEmail(id: string, email: string, now: number): Promise<User | 'email_taken' | null>;
  delete(id: string): Promise<boolean>;
  list(query: UserListQuery): Promise<User[]>;
  countActiveAdmins(): Promise<number>;
}

/** The only shape in which a user leaves the server. */
export interface PublicUser {
  id: string;
  email: string;
  name: string;
  role: string;
  emailVerified: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

/** What an admin sees of a user: the public shape, and whether (and since when) the account is disabled. */
export interface AdminUser extends PublicUser {
  disabled: boolean;
  disabledAt: string | null;
}

export function toAdminUser(user: User): AdminUser {
  return { ...toPublicUser(user), disabled: user.disabledAt !== null, disabledAt: user.disabledAt === null ? null : new Date(user.disabledAt).toISOString() };
}

export function toPublicUser(user: User): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    emailVerified: user.emailVerifiedAt !== null,
    createdAt: new Date(user.createdAt).toISOString(),
    lastLoginAt: user.lastLoginAt === null ? null : new Date(user.lastLoginAt).toISOString(),
  };
}
