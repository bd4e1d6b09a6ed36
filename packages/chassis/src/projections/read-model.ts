import type { Envelope, MessageContract } from '@mercato/contracts';
import type { Transaction } from '../db/database.ts';

/** An event as a read model applies it: validated and upcast to its type's current version. */
export interface ReadModelEvent {
  position: string;
  envelope: Envelope;
}

/**
 * A read model fed only by events: which topics it reads, its tables, and how a batch of events
 * changes them. Everything it writes must follow from the events alone (their timestamps, never
 * the clock), so a copy rebuilt from the start of the log equals the live one row for row.
 */
export interface ReadModel {
  /** Lower-case words and underscores; names its schemas (`<name>_g<generation>`). */
  name: string;
  topics: readonly string[];
  /** The contracts of those topics, with their upcasters. */
  contracts: readonly MessageContract[];
  /** Its tables: compared on a switch, and given views of the same name in `public` for operators. */
  tables: readonly string[];
  /** Creates the tables (and their indexes) in `schema`. */
  createTables: (transaction: Transaction, schema: string) => Promise<void>;
  /**
   * Applies a batch in log order, in the transaction that moves the checkpoint past it. Each event
   * comes once per generation: the runner skips an event id it has applied (`applied-events.ts`).
   */
  apply: (transaction: Transaction, schema: string, events: readonly ReadModelEvent[]) => Promise<void>;
}
