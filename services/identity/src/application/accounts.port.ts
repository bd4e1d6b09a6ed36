import type { OutboxEntry } from '@mercato/chassis';
import type { FailureRecord } from '../domain/login-throttle.ts';
import type { RefreshRecord } from '../domain/refresh-token.ts';

export interface UserRecord {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  roles: string[];
  /** When an operator blocked the user; null while the user may sign in. */
  blockedAt: Date | null;
}

export interface BlockedUser {
  userId: string;
  blockedAt: Date;
}

export type { RefreshRecord };

/** A refresh token to store: only its digest is kept. */
export interface NewRefreshToken {
  token: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
}

/** What rotating a refresh token came to; `rotated` carries what the issuer returned. */
export type Rotation<T> = { outcome: 'invalid' } | { outcome: 'reused' } | { outcome: 'rotated'; issued: T };

/** Users, refresh tokens and failed-login windows. */
export interface Accounts {
  /** Stores the user and the messages announcing it in one transaction; false when the email is taken. */
  register(user: UserRecord, messages: readonly OutboxEntry[], now: Date): Promise<boolean>;
  userByEmail(email: string): Promise<UserRecord | undefined>;
  /**
   * Replaces the user's password hash if it is still `current` (a change made meanwhile wins);
   * whether it did.
   */
  replacePasswordHash(userId: string, current: string, replacement: string): Promise<boolean>;
  storeRefreshToken(token: NewRefreshToken, now: Date): Promise<void>;
  /**
   * Spends `token` and stores its successor atomically, so two concurrent uses cannot both succeed.
   * The token's fate follows `refreshVerdict`; a reused one revokes its whole family.
   */
  rotateRefreshToken<T>(
    token: string,
    now: Date,
    issue: (user: UserRecord, familyId: string) => Promise<{ issued: T; successor: NewRefreshToken }>,
  ): Promise<Rotation<T>>;
  /**
   * Blocks the user (revoking its refresh tokens, announcing the block to watchers, in one
   * transaction); the time of the block, or undefined for an unknown user. Blocking again keeps
   * the first time.
   */
  block(userId: string, now: Date): Promise<Date | undefined>;
  /** Lets the user sign in again; false for an unknown user. */
  unblock(userId: string): Promise<boolean>;
  /** Users blocked after `since`, oldest first. */
  blockedSince(since: Date): Promise<BlockedUser[]>;
  blockedUser(userId: string): Promise<BlockedUser | undefined>;
  /** The failures counted under each of `keys` that has any. */
  failures(keys: readonly string[]): Promise<Map<string, FailureRecord>>;
  /** Counts one more failure under each key, in one transaction; `next` says what it becomes. */
  recordFailure(
    keys: readonly string[],
    next: (key: string, record: FailureRecord | undefined) => FailureRecord,
  ): Promise<void>;
  clearFailures(key: string): Promise<void>;
}
