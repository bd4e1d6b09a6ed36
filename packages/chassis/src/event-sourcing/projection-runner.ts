import { inTransaction, type Pool, type Transaction } from '../db/database.ts';
import { QuietBackoff } from '../quiet-backoff.ts';
import { WakeSignal } from '../wake-signal.ts';
import {
  LOG_START,
  type LogPosition,
  type PostgresEventStore,
  type StoredEvent,
} from './postgres-event-store.ts';

export interface Projection {
  /** Names its checkpoint. */
  name: string;
  /** Applies a batch of events to the read model, in the transaction that moves the checkpoint. */
  apply: (transaction: Transaction, events: readonly StoredEvent[]) => Promise<void>;
  /** Empties the read model, so it can be rebuilt from the start of the log. */
  reset: (transaction: Transaction) => Promise<void>;
}

/**
 * Keeps a projection up with the log: each batch and the checkpoint after it commit together, so
 * a projection that dies mid-way resumes where its last batch ended, applying nothing twice. The
 * checkpoint row is locked while a batch is applied, so two runners of one projection take turns.
 */
export class ProjectionRunner {
  readonly #pool: Pool;
  readonly #store: PostgresEventStore;
  readonly #projection: Projection;
  #wake = new WakeSignal();
  #loop: Promise<void> | undefined;
  #stopping = false;
  /** Catch-ups left, `intervalMs` apart, before sleeping until woken (or the safety net). */
  #pollsLeft = 0;
  /** The safety net's interval while no wake comes (set by start). */
  #quiet: QuietBackoff | undefined;
  /**
   * The checkpoint as this runner last saw it. Checkpoints only move forward (but for `reset`), so
   * when nothing is visible after it, nothing is after the real one either: a catch-up with nothing
   * to do is one read, without a transaction or a lock.
   */
  #seen: LogPosition | undefined;
  /** Bumped by `reset`: a step that began before it does not record what it saw. */
  #resets = 0;
  /** The background catch-ups and `rebuild` run one after another, never interleaved. */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(pool: Pool, store: PostgresEventStore, projection: Projection) {
    this.#pool = pool;
    this.#store = store;
    this.#projection = projection;
  }

  /** Applies one batch after the checkpoint; resolves with how many events it applied. */
  async step(batchSize = 500): Promise<number> {
    if (this.#seen && (await this.#store.readAll(this.#seen, 1)).length === 0) return 0;
    const resets = this.#resets;
    let seen: LogPosition | undefined;
    const applied = await inTransaction(this.#pool, async (transaction) => {
      const after = await this.#lockCheckpoint(transaction);
      const events = await this.#store.readAll(after, batchSize);
      const last = events.at(-1);
      seen = last?.position ?? after;
      if (!last) return 0;
      await this.#projection.apply(transaction, events);
      await transaction.query(
        `UPDATE es_checkpoints SET transaction_id = $2::xid8, global_position = $3, updated_at = now()
          WHERE projection = $1`,
        [this.#projection.name, last.position.transactionId, last.position.globalPosition],
      );
      return events.length;
    });
    // Only once committed: a batch rolled back leaves the checkpoint where it was.
    if (resets === this.#resets) this.#seen = seen;
    return applied;
  }

  /** Applies batches until the projection has caught up with what is visible; returns the count. */
  async catchUp(batchSize = 500): Promise<number> {
    let applied = 0;
    for (let step = await this.step(batchSize); step > 0; step = await this.step(batchSize)) applied += step;
    return applied;
  }

  /**
   * Catches up whenever `wake` is called (the store's NOTIFY of an append) until `stop`, then a few
   * more times `intervalMs` apart: an append becomes visible to the log's readers only once every
   * older transaction of the database has ended, which may be a little after its notification.
   * Wakes coming faster than `intervalMs` are taken together, one catch-up per interval (the first
   * after a quiet spell at once). Without a wake it sleeps `idleMs`, doubling while none comes, up
   * to 8 times as long (a safety net, QuietBackoff; an idle projection runs no transaction). One
   * catch-up at a time: a slow one is not joined by others queueing on the checkpoint's lock.
   */
  start(intervalMs: number, onError: (error: unknown) => void, idleMs = 60_000): void {
    if (this.#loop) return;
    this.#stopping = false;
    // A wake before the start needs no keeping: the loop's first catch-up runs at once.
    this.#wake = new WakeSignal({ coalesceMs: intervalMs });
    this.#pollsLeft = POLLS_AFTER_WAKE;
    const quiet = new QuietBackoff(idleMs);
    this.#quiet = quiet;
    this.#loop = (async () => {
      while (!this.#stopping) {
        await this.#serially(() => this.catchUp()).catch(onError);
        if (this.#stopping) break;
        if (this.#pollsLeft > 0) {
          this.#pollsLeft -= 1;
          await this.#wake.sleep(intervalMs);
        } else await this.#wake.sleep(quiet.quiet());
      }
    })();
  }

  /** Something was appended to the log: catch up now. */
  wake(): void {
    this.#pollsLeft = POLLS_AFTER_WAKE;
    this.#quiet?.busy();
    this.#wake.wake();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake.wake();
    await this.#loop;
    this.#loop = undefined;
  }

  /**
   * Empties the read model and applies the whole log again; resolves with how many events that
   * took. The background catch-up waits meanwhile: between the reset and this catch-up it would
   * apply part of the log itself (and this count would miss it).
   */
  rebuild(batchSize = 500): Promise<number> {
    return this.#serially(async () => {
      await this.reset();
      return this.catchUp(batchSize);
    });
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work, work);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Empties the read model and moves the checkpoint back to the start: the next catch-up rebuilds it. */
  async reset(): Promise<void> {
    this.#resets += 1;
    this.#seen = undefined;
    await inTransaction(this.#pool, async (transaction) => {
      await this.#lockCheckpoint(transaction);
      await this.#projection.reset(transaction);
      await transaction.query(
        `UPDATE es_checkpoints SET transaction_id = '0', global_position = 0, updated_at = now()
          WHERE projection = $1`,
        [this.#projection.name],
      );
    });
  }

  /**
   * Locks the checkpoint row and reads it: one statement once the row exists (it is never deleted);
   * the first step creates it, then asks for the lock again.
   */
  async #lockCheckpoint(transaction: Transaction): Promise<LogPosition> {
    const lock = () =>
      transaction.query<{ transaction_id: string; global_position: string }>(
        `SELECT transaction_id::text, global_position::text FROM es_checkpoints WHERE projection = $1 FOR UPDATE`,
        [this.#projection.name],
      );
    let row = (await lock()).rows[0];
    if (!row) {
      await transaction.query('INSERT INTO es_checkpoints (projection) VALUES ($1) ON CONFLICT DO NOTHING', [
        this.#projection.name,
      ]);
      row = (await lock()).rows[0];
    }
    return row ? { transactionId: row.transaction_id, globalPosition: row.global_position } : LOG_START;
  }
}

/** Catch-ups after a wake before the runner sleeps until the next one. */
const POLLS_AFTER_WAKE = 5;
