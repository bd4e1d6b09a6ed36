import type { Transaction } from '@mercato/chassis';
import type {
  EmailHolder,
  HeldLegacyAccount,
  LegacyAccountRow,
  LegacyConflict,
  Lsn,
} from '../domain/legacy-account.ts';

/** A change identity did not apply as it came, kept for an operator. */
export interface LegacyConflictRecord {
  userId: string;
  lsn: Lsn;
  conflict: LegacyConflict;
  /** The email the change carried. */
  email: string;
  /** The account holding that email, when that is the conflict. */
  otherUserId: string | undefined;
}

/** The monolith's customers as identity holds them, all in the consumer's transaction. */
export interface LegacyAccounts {
  /** The account's last applied change and password hash, locked until the transaction ends. */
  held(transaction: Transaction, userId: string): Promise<HeldLegacyAccount | undefined>;
  /** The account other than `userId` that holds `email`, locked; undefined when none does. */
  emailHolder(transaction: Transaction, email: string, userId: string): Promise<EmailHolder | undefined>;
  /** Creates or updates the user and marks `lsn` as its last applied change. */
  save(
    transaction: Transaction,
    userId: string,
    lsn: Lsn,
    account: { row: LegacyAccountRow; create: boolean; blocked: boolean },
    now: Date,
  ): Promise<void>;
  /** Gives up a legacy account's email (to a placeholder no one can type) for another to take it. */
  releaseEmail(transaction: Transaction, userId: string): Promise<void>;
  /** Blocks the user if there is one (revoking its sessions) and keeps a tombstone at `lsn`. */
  markDeleted(transaction: Transaction, userId: string, lsn: Lsn, now: Date): Promise<void>;
  recordConflict(transaction: Transaction, conflict: LegacyConflictRecord, now: Date): Promise<void>;
}
