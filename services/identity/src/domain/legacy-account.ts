import { compareLogPositions } from '@mercato/contracts';
import { emailSchema } from './credentials.ts';

/**
 * Taking over the monolith's customers as users `usr_legacy_<id>` (strangler fig): what a captured
 * change does to the account identity holds for it. Changes are ordered by their commit's position
 * in the monolith's log (LSN), not by the row's `updated_at`: that is the transaction's start time,
 * and two transactions can commit in the other order.
 */

/** A position in the monolith's write-ahead log as PostgreSQL writes it, `<hex>/<hex>`. */
export type Lsn = string;

/** Negative when `a` is earlier in the log than `b`, zero for the same commit, positive when later. */
export const compareLsn = (a: Lsn, b: Lsn): number => compareLogPositions(a, b);

/** The monolith's format, `sha256$<salt>$<hex of sha256(salt + password)>`; identity never writes it. */
const monolithHash = /^sha256\$[^$]*\$[0-9a-f]{64}$/;
export const isMonolithPasswordHash = (stored: string): boolean => monolithHash.test(stored);

/** A customer row of the monolith as identity keeps it. */
export interface LegacyAccountRow {
  email: string;
  name: string;
  /** The monolith's hash, kept as it is until the first login re-hashes it. */
  passwordHash: string;
}

/** One captured change of a monolith customer. */
export type LegacyCustomerChange = { userId: string; lsn: Lsn } & (
  | { op: 'upsert'; row: LegacyAccountRow }
  | { op: 'delete' }
  /** A row identity cannot hold (no usable email, name or hash): recorded, not retried. */
  | { op: 'unusable'; email: string }
);

const NAME_LENGTH = 100;

/**
 * The change as identity reads it: the email lower-cased (identity compares emails that way), the
 * name trimmed and cut to identity's 100 characters (the monolith allows 200; the profile with the
 * full name is the customer service's).
 */
export function legacyCustomerChange(
  userId: string,
  lsn: Lsn,
  row: { email: string; name: string; password_hash: string } | null,
): LegacyCustomerChange {
  if (!row) return { userId, lsn, op: 'delete' };
  const email = emailSchema.safeParse(row.email);
  const name = Array.from(row.name.trim()).slice(0, NAME_LENGTH).join('');
  if (!email.success || name.length === 0 || !isMonolithPasswordHash(row.password_hash))
    return { userId, lsn, op: 'unusable', email: row.email };
  return { userId, lsn, op: 'upsert', row: { email: email.data, name, passwordHash: row.password_hash } };
}

/** What identity holds of a legacy account. */
export interface HeldLegacyAccount {
  /** The last change applied. */
  lsn: Lsn;
  /** The monolith deleted the row (the account is blocked, or never existed: a tombstone). */
  deleted: boolean;
  /** The account's password hash now; undefined when identity has no user for it (a tombstone). */
  passwordHash: string | undefined;
}

/** Another account holding the email a change gives: identity's own (`lsn` undefined), or a legacy one. */
export interface EmailHolder {
  userId: string;
  lsn: Lsn | undefined;
}

export type LegacyConflict =
  /** An account registered with identity holds the email: neither is merged into the other. */
  | 'email_taken'
  /** A legacy account holds it as of a later change: this customer has a later change on its way. */
  | 'email_held_by_later_change'
  /** A legacy account held it as of an earlier change, and gave it up to this one. */
  | 'email_moved'
  | 'unusable_row';

export type LegacyPlan =
  /** Older than what the account holds (a replay, a late delivery): changes nothing. */
  | { kind: 'stale' }
  | { kind: 'conflict'; conflict: Exclude<LegacyConflict, 'email_moved'>; otherUserId?: string }
  /** Block the account (when there is one) and keep a tombstone at the change's position. */
  | { kind: 'delete' }
  | {
      kind: 'save';
      row: LegacyAccountRow;
      /** No user yet: created (blocked when the row was deleted before). */
      create: boolean;
      blocked: boolean;
      /** A legacy account whose email the monolith has since given to this one: it gives it up. */
      moveEmailOf?: string;
    };

/**
 * What to do with a change: nothing if it is older than the account's last one; otherwise delete,
 * record a conflict, or save the row. A password identity has hashed (at a login, or set anew) is
 * never replaced by the monolith's: only a monolith hash is replaced by a later monolith hash.
 */
export function planLegacyChange(
  held: HeldLegacyAccount | undefined,
  change: LegacyCustomerChange,
  holder: EmailHolder | undefined,
): LegacyPlan {
  // The same position again is the same commit (a snapshot row, or a row changed twice in one
  // transaction): applied again, which is harmless, rather than guessed to be older.
  if (held && compareLsn(change.lsn, held.lsn) < 0) return { kind: 'stale' };
  if (change.op === 'delete') return { kind: 'delete' };
  if (change.op === 'unusable') return { kind: 'conflict', conflict: 'unusable_row' };
  let moveEmailOf: string | undefined;
  if (holder) {
    if (holder.lsn === undefined)
      return { kind: 'conflict', conflict: 'email_taken', otherUserId: holder.userId };
    // The monolith's emails are unique: if it gave this one to our row at or after the holder's
    // last change, the holder has since lost it, by a change that has not reached us yet.
    if (compareLsn(holder.lsn, change.lsn) > 0)
      return { kind: 'conflict', conflict: 'email_held_by_later_change', otherUserId: holder.userId };
    moveEmailOf = holder.userId;
  }
  const current = held?.passwordHash;
  const passwordHash =
    current !== undefined && !isMonolithPasswordHash(current) ? current : change.row.passwordHash;
  return {
    kind: 'save',
    row: { ...change.row, passwordHash },
    create: current === undefined,
    blocked: held?.deleted ?? false,
    ...(moveEmailOf ? { moveEmailOf } : {}),
  };
}
