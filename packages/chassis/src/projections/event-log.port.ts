/** One event of the log, as published: the reader validates and upcasts it. */
export interface LoggedEvent {
  /** Where it stands in the log; opaque to readers, ordered by the log. */
  position: string;
  envelope: unknown;
}

export interface LogRead {
  events: LoggedEvent[];
  position: string | null;
  /** The read stopped at its limit: there may be more to read at once. */
  more: boolean;
}

/**
 * The published events of some topics read as one ordered, replayable log: what read models are
 * built from and rebuilt from the start of. Adapters: the PostgreSQL message store and JetStream.
 */
export interface EventLog {
  readonly name: string;
  /**
   * Events of `topics` after `after` (null: from the start), oldest first, at most `limit`, none
   * beyond `upTo` when given, and the position a reader stands at after them (it can move past
   * other topics' messages without events). An event that becomes visible later never has a
   * position before one already returned. The same event may be in the log twice (a relay that
   * republished it); readers deduplicate by event id.
   */
  read: (
    topics: readonly string[],
    after: string | null,
    options: { limit: number; upTo?: string | null },
  ) => Promise<LogRead>;
  /** The position of the newest event of `topics` a reader can see now (null: none yet). */
  head: (topics: readonly string[]) => Promise<string | null>;
  /** How many events of `topics` lie after `after`, looking no further than `cap` messages ahead. */
  countAfter: (topics: readonly string[], after: string | null, cap: number) => Promise<number>;
  /** Whether a reader at `position` has seen everything up to `target`. */
  reached: (position: string | null, target: string | null) => boolean;
  /**
   * Calls `listener` soon after the log may have grown (and after a lost watch is restored), so a
   * reader can sleep until then instead of polling; returns how to stop. A log without it is polled.
   */
  watch?: (listener: () => void) => { close: () => Promise<void> };
  close: () => Promise<void>;
}
