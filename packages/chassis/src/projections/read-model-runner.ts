import { MessageRegistry } from '@mercato/contracts';
import { inTransaction, type Pool, type Transaction } from '../db/database.ts';
import type { Logger } from '../logging/create-logger.ts';
import { QuietBackoff } from '../quiet-backoff.ts';
import { WakeSignal } from '../wake-signal.ts';
import { createAppliedEvents, firstApplications } from './applied-events.ts';
import type { EventLog, LoggedEvent, LogRead } from './event-log.port.ts';
import type { ReadModel, ReadModelEvent } from './read-model.ts';
import { type Generation, quote, ReadModelGenerations } from './read-model-generations.ts';

export interface ReadModelRunnerSettings {
  pool: Pool;
  log: EventLog;
  model: ReadModel;
  logger: Logger;
  /** Events applied per transaction. */
  batchSize?: number;
  /**
   * How often the log is read while there is nothing new: always, for a log that cannot be watched;
   * for one that can, only for a short while after each notification (a commit may become visible
   * to readers a little after its NOTIFY, once older transactions of the store have ended).
   */
  pollMs?: number;
  /**
   * Safety-net read of a watched log while no notification comes (default 60 s), doubling while
   * none comes up to 8 times as long (QuietBackoff).
   */
  idlePollMs?: number;
}

/** After a notification, the log is polled (every pollMs) this many times before the runner sleeps. */
const POLLS_AFTER_NOTIFY = 5;

/**
 * How long a step trusts the generations it listed last. Under load a step runs for every batch
 * (one every pollMs at most), and each listed the generations first: a statement per batch for a
 * change (a rebuild started, a switch) that comes a few times a year. This process's own changes
 * drop the list at once; another instance's are seen within this. A stale list is safe: a batch is
 * applied only under the lock of its generation's row, still live or building, from the
 * checkpoint that row holds.
 */
const LIST_FOR_MS = 1_000;

export interface Lag {
  events: number;
  seconds: number;
}

/** Where readers find the live copy: its quoted schema (to prefix tables in SQL), its name, its checkpoint. */
export interface LiveGeneration {
  schema: string;
  name: string;
  position: string | null;
}

/**
 * Counting stops here: a lag this large reads as "at least" (the seconds behind say the rest).
 * Counting further would cost a scan of the whole backlog on every scrape during a rebuild.
 */
const LAG_COUNT_CAP = 10_000;

/**
 * Keeps a read model up with the event log and rebuilds it blue-green. Every generation (the live
 * one, and a new one while rebuilding) moves on in batches, each applied in the transaction that
 * moves its checkpoint, under a lock on its row: any number of instances take turns, a crash
 * resumes after the last batch. A rebuilding generation that has caught up replaces the live one in
 * one transaction, both brought to the same position and compared row for row first.
 */
export class ReadModelRunner {
  readonly #settings: Required<ReadModelRunnerSettings>;
  readonly #generations: ReadModelGenerations;
  readonly #messages: MessageRegistry;
  readonly #wake: WakeSignal;
  #running: Promise<void> | undefined;
  /** Per generation, the next batch already being read while the last one is applied. */
  readonly #prefetched = new Map<number, { after: string | null; read: Promise<LogRead> }>();
  #stopping = false;
  #watch: { close: () => Promise<void> } | undefined;
  /** The generations a step listed last, and when (see LIST_FOR_MS). */
  #listed: { at: number; generations: Generation[] } | undefined;
  /** Polls left before sleeping until a notification (or the safety net). */
  #pollsLeft = POLLS_AFTER_NOTIFY;
  readonly #quiet: QuietBackoff;
  /** After each batch: events applied, rejected (unreadable) and skipped (already applied). */
  onApplied: (count: number, rejected: number, duplicates: number) => void = () => undefined;

  constructor(settings: ReadModelRunnerSettings) {
    this.#settings = { batchSize: 5_000, pollMs: 100, idlePollMs: 60_000, ...settings };
    // Notifications coming faster than pollMs (one per publish under load) are taken together:
    // one step per pollMs reads and applies all of them, as a poll did; a lone one is read at once.
    this.#wake = new WakeSignal({ coalesceMs: this.#settings.pollMs });
    this.#quiet = new QuietBackoff(this.#settings.idlePollMs);
    this.#generations = new ReadModelGenerations(settings.model);
    this.#messages = new MessageRegistry(settings.model.contracts);
  }

  get model(): ReadModel {
    return this.#settings.model;
  }

  get log(): EventLog {
    return this.#settings.log;
  }

  /** Makes sure a live generation exists (the first start builds it from the log), then runs. */
  async start(): Promise<void> {
    await inTransaction(this.#settings.pool, async (transaction) => {
      await this.#lockModel(transaction);
      const generations = await this.#generations.list(transaction);
      if (!generations.some((generation) => generation.status === 'live')) {
        await this.#generations.create(transaction, 'live');
      }
      // Generations built by a release before events were deduplicated.
      for (const generation of generations)
        if (generation.status === 'live' || generation.status === 'building')
          await createAppliedEvents(transaction, quote(generation.schema));
    });
    this.#watch = this.log.watch?.(() => {
      this.#pollsLeft = POLLS_AFTER_NOTIFY;
      this.#quiet.busy();
      this.#wake.wake();
    });
    this.#running = this.#loop();
  }

  /** Serialises creating generations across instances (first start, concurrent rebuild requests). */
  async #lockModel(transaction: Transaction): Promise<void> {
    await transaction.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`read-model:${this.model.name}`]);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake.wake();
    await this.#running;
    await this.#watch?.close();
  }

  generations(): Promise<Generation[]> {
    return this.#generations.list(this.#settings.pool);
  }

  /** Starts building a new generation from the start of the log (or returns the one building). */
  async rebuild(): Promise<Generation> {
    const generation = await inTransaction(this.#settings.pool, async (transaction) => {
      await this.#lockModel(transaction);
      const building = (await this.#generations.list(transaction)).find((g) => g.status === 'building');
      return building ?? this.#generations.create(transaction, 'building');
    });
    this.#listed = undefined;
    this.#settings.logger.info(
      { generation: generation.generation },
      `rebuilding read model ${this.model.name}`,
    );
    this.#wake.wake();
    return generation;
  }

  /**
   * The live generation: its schema (quoted, to prefix table names in SQL), its name and its
   * checkpoint. Readers query it by name rather than through the views in `public`:
   * a switch then changes one row and takes no lock a reader holds (replacing views under readers
   * that join several of them deadlocked).
   */
  async live(): Promise<LiveGeneration> {
    const { rows } = await this.#settings.pool.query<{ schema_name: string; checkpoint: string | null }>(
      `SELECT schema_name, checkpoint FROM read_model_generations WHERE status = 'live'`,
    );
    const live = rows[0];
    if (!live) throw new Error(`read model ${this.model.name} has no live generation`);
    return { schema: quote(live.schema_name), name: live.schema_name, position: live.checkpoint };
  }

  /** How far a generation is behind the log: events after its checkpoint, age of the oldest. */
  async lag(generation: Generation): Promise<Lag> {
    const [events, oldest] = await Promise.all([
      this.log.countAfter(this.model.topics, generation.checkpoint, LAG_COUNT_CAP),
      this.log.read(this.model.topics, generation.checkpoint, { limit: 100 }),
    ]);
    const timestamp = (oldest.events[0]?.envelope as { timestamp?: unknown } | undefined)?.timestamp;
    const seconds =
      typeof timestamp === 'string' ? Math.max(0, (Date.now() - Date.parse(timestamp)) / 1000) : 0;
    return { events, seconds };
  }

  /** One pass over the active generations; resolves true when one of them has more to read at once. */
  async step(): Promise<boolean> {
    let more = false;
    try {
      for (const generation of await this.#activeGenerations()) {
        if (generation.status !== 'live' && generation.status !== 'building') continue;
        // Nothing new after its checkpoint: no transaction, no lock. An idle read model costs two
        // reads per poll (this and the list, when it is older than LIST_FOR_MS) instead of six
        // statements.
        let applied: Generation | undefined;
        const full =
          (await this.#hasNext(generation)) &&
          (await inTransaction(this.#settings.pool, async (transaction) => {
            // A crash may lose the last batches a server acknowledged, their checkpoint with them
            // (same transaction): they are read and applied again. No need to wait for the WAL flush.
            const locked = await this.#generations.lock(transaction, generation.generation, {
              asyncCommit: true,
            });
            applied = locked;
            return locked ? this.#applyNext(transaction, locked) : false;
          }));
        // Committed: the listed generation is where its row now is.
        if (applied) Object.assign(generation, applied);
        more ||= full;
        if (generation.status === 'building' && !full) {
          this.#listed = undefined;
          await this.#trySwitch();
        }
      }
    } catch (error) {
      this.#listed = undefined;
      throw error;
    }
    return more;
  }

  /** The generations as listed within LIST_FOR_MS, or listed now. */
  async #activeGenerations(): Promise<Generation[]> {
    const now = performance.now();
    if (this.#listed && now - this.#listed.at < LIST_FOR_MS) return this.#listed.generations;
    const generations = await this.#generations.list(this.#settings.pool);
    this.#listed = { at: now, generations };
    return generations;
  }

  /**
   * Reads the batch after the generation's checkpoint ahead of its transaction; false when the log
   * has nothing after it. The read is kept for `#applyNext`, which uses it if the checkpoint has
   * not moved meanwhile (another instance may have applied it).
   */
  async #hasNext(generation: Generation): Promise<boolean> {
    let prefetched = this.#prefetched.get(generation.generation);
    if (prefetched?.after !== generation.checkpoint)
      prefetched = this.#readAhead(generation.generation, generation.checkpoint);
    const { position } = await prefetched.read.catch((error: unknown) => {
      this.#prefetched.delete(generation.generation);
      throw error;
    });
    if (position !== null && position !== generation.checkpoint) return true;
    this.#prefetched.delete(generation.generation);
    return false;
  }

  /** Starts reading the batch after `after` for `generation`, kept until a step uses it. */
  #readAhead(generation: number, after: string | null): { after: string | null; read: Promise<LogRead> } {
    const read = this.log.read(this.model.topics, after, { limit: this.#settings.batchSize });
    // Awaited later, or never (the checkpoint moved): not an unhandled rejection meanwhile.
    read.catch(() => undefined);
    const prefetched = { after, read };
    this.#prefetched.set(generation, prefetched);
    return prefetched;
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      let more = false;
      try {
        more = await this.step();
      } catch (error) {
        this.#settings.logger.warn({ error }, `read model ${this.model.name} could not apply; will retry`);
        // Retried every pollMs while it fails, as a log that cannot be watched is.
        this.#pollsLeft = Math.max(this.#pollsLeft, 1);
      }
      if (more) continue;
      const { pollMs } = this.#settings;
      if (!this.#watch) await this.#wake.sleep(pollMs);
      else if (this.#pollsLeft > 0) {
        this.#pollsLeft -= 1;
        await this.#wake.sleep(pollMs);
      } else await this.#wake.sleep(this.#quiet.quiet());
    }
  }

  /**
   * Applies the batch after the generation's checkpoint (none past `upTo`); true when the read
   * stopped at its limit, so there may be more to apply at once.
   */
  async #applyNext(transaction: Transaction, generation: Generation, upTo?: string | null): Promise<boolean> {
    const prefetched = this.#prefetched.get(generation.generation);
    this.#prefetched.delete(generation.generation);
    const {
      events: logged,
      position,
      more,
    } = await (upTo === undefined && prefetched?.after === generation.checkpoint
      ? prefetched.read
      : this.log.read(this.model.topics, generation.checkpoint, {
          limit: this.#settings.batchSize,
          ...(upTo === undefined ? {} : { upTo }),
        }));
    if (position === null || position === generation.checkpoint) return false;
    // A full batch means more behind it: read the next one (from the log's own database) while
    // this one is applied, so the two servers' work overlaps. Used only if the checkpoint is where
    // this batch leaves it when the next step locks the generation.
    if (more && upTo === undefined) this.#readAhead(generation.generation, position);
    const events: ReadModelEvent[] = [];
    let rejected = 0;
    for (const event of logged) {
      const decoded = this.#decode(event);
      if ('reason' in decoded) {
        rejected += 1;
        await this.#generations.reject(transaction, generation.generation, {
          ...event,
          reason: decoded.reason,
        });
        this.#settings.logger.warn(
          { position: event.position, reason: decoded.reason },
          'event rejected by read model',
        );
      } else events.push(decoded);
    }
    const fresh = await firstApplications(transaction, quote(generation.schema), events);
    const duplicates = events.length - fresh.length;
    if (duplicates > 0)
      this.#settings.logger.info(
        { generation: generation.generation, duplicates },
        `read model ${this.model.name} skipped events it had already applied`,
      );
    if (fresh.length > 0) await this.model.apply(transaction, quote(generation.schema), fresh);
    await this.#generations.advance(transaction, generation.generation, {
      checkpoint: position,
      applied: fresh.length,
      rejected,
    });
    generation.checkpoint = position;
    this.onApplied(fresh.length, rejected, duplicates);
    return more;
  }

  #decode(event: LoggedEvent): ReadModelEvent | { reason: string } {
    const checked = this.#messages.readIncoming(event.envelope);
    return checked.ok ? { position: event.position, envelope: checked.envelope } : { reason: checked.reason };
  }

  /** Both generations to the same position, compared, then the views moved, in one transaction. */
  async #trySwitch(): Promise<void> {
    await inTransaction(this.#settings.pool, async (transaction) => {
      const listed = await this.#generations.list(transaction);
      const liveRow = listed.find((g) => g.status === 'live');
      const nextRow = listed.find((g) => g.status === 'building');
      if (!liveRow || !nextRow) return;
      const live = await this.#generations.lock(transaction, liveRow.generation, { wait: true });
      const next = await this.#generations.lock(transaction, nextRow.generation, { wait: true });
      if (!live || !next) return;
      const target = await this.log.head(this.model.topics);
      // Still far behind (another instance's batch moved it less than we thought): not yet.
      if (
        (await this.log.countAfter(this.model.topics, next.checkpoint, this.#settings.batchSize)) >=
        this.#settings.batchSize
      )
        return;
      for (const generation of [live, next]) {
        while (!this.log.reached(generation.checkpoint, target)) {
          const before = generation.checkpoint;
          await this.#applyNext(transaction, generation, target);
          if (generation.checkpoint === before) break;
        }
      }
      const comparison = await this.#generations.compare(transaction, live.schema, next.schema);
      await this.#generations.switchTo(transaction, live, next, comparison);
      const log = comparison.differences === 0 ? 'info' : 'error';
      this.#settings.logger[log](
        {
          from: live.generation,
          to: next.generation,
          rows: comparison.rows,
          differences: comparison.differences,
        },
        `read model ${this.model.name} switched to its rebuilt generation`,
      );
    });
  }
}
