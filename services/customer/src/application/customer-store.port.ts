import type { OutboxEntry, Transaction } from '@mercato/chassis';
import type { Customer } from '../domain/customer.ts';
import type { LegacyOwner, LegacyOwnership } from '../domain/legacy-customer.ts';

/** A change to one customer and the messages announcing it, stored together. */
export interface CustomerChange {
  customer: Customer;
  messages: OutboxEntry[];
}

/** Customer profiles. */
export interface CustomerStore {
  get(id: string): Promise<Customer | undefined>;
  /** Creates the profile unless it exists (its event may be delivered again), in the consumer's transaction. */
  createIfAbsent(transaction: Transaction, customer: Customer): Promise<void>;
  /**
   * Reads the customer under a lock, applies `change`, and stores the result with its messages in
   * one transaction; undefined when there is no such customer.
   */
  update(
    id: string,
    change: (customer: Customer) => CustomerChange,
    /**
     * For a profile taken over from the monolith: called in the transaction with who writes such
     * profiles, which stays so until it commits (a hand-back waits for it); it throws to refuse.
     */
    legacyGuard?: (owner: LegacyOwner) => void,
  ): Promise<Customer | undefined>;
  /**
   * A profile taken over from the monolith, locked until the consumer's transaction ends, with the
   * commit position (LSN) of the monolith's last change applied to it.
   */
  takenOverForUpdate(transaction: Transaction, id: string): Promise<TakenOverProfile>;
  /** Creates or overwrites it at the position of the change applied, with its messages. */
  saveTakenOver(
    transaction: Transaction,
    customer: Customer,
    legacyLsn: string,
    messages: OutboxEntry[],
  ): Promise<void>;
  /** Who writes the profiles taken over from the monolith, as last recorded, and since which move. */
  legacyOwnership(transaction?: Transaction): Promise<LegacyOwnership>;
  /**
   * Records the monolith's move of customers at its commit position `lsn`: to `services` (from
   * `monolith`; recorded as `moving` until `completeLegacyMove`) or back to `monolith` (ending a
   * hand-back: from `returning` only). Anything else, or a move at or before the last one recorded,
   * changes nothing (the snapshot's row says what is already so).
   */
  recordLegacyMove(transaction: Transaction, owner: 'monolith' | 'services', lsn: string): Promise<void>;
  /** Ends `moving` (every earlier change of the monolith applied): the owner after. */
  completeLegacyMove(): Promise<LegacyOwner>;
  /**
   * `services` becomes `returning` once the profile writes in flight committed, and `handedBack` is
   * appended to the outbox after every message they appended; the owner after (unchanged unless it
   * was `services` and the monolith is not retiring).
   */
  handBackLegacy(handedBack: OutboxEntry): Promise<LegacyOwner>;
  /**
   * Sets (or clears) the monolith's retirement while the owner is `services`, holding the owner's row
   * as a hand-back does; a hand-back finds it set and changes nothing. `forGood` once the monolith
   * did retire: the mark is never cleared from then (`changed` false).
   */
  markLegacyRetired(retired: boolean, forGood: boolean): Promise<LegacyRetirementMark>;
}

export interface TakenOverProfile {
  customer: Customer | undefined;
  legacyLsn: string | undefined;
}

/** The monolith's retirement as customer marks it (the owner's row). */
export interface LegacyRetirementMark {
  owner: LegacyOwner;
  retiredAt: Date | undefined;
  forGood: boolean;
  /** False when nothing was marked: the owner is not `services`, or the mark is for good. */
  changed: boolean;
}
