import { inTransaction, type Pool, type Transaction } from '../db/database.ts';
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
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(pool: Pool, store: PostgresEventStore, projection: Projection) {
    this.#pool = pool;
    this.#store = store;
    this.#projection = projection;
  }

  /** Applies one batch after the checkpoint; resolves with how many events it applied. */
  async step(batchSize = 500): Promise<number> {
    return inTransaction(this.#pool, async (transaction) => {
      const after = await this.#lockCheckpoint(transaction);
      const events = await this.#store.readAll(after, batchSize);
      const last = events.at(-1);
      if (!last) return 0;
      await this.#projection.apply(transaction, events);
      await transaction.query(
        `UPDATE es_checkpoints SET transaction_id = $2::xid8, global_position = $3, updated_at = now()
          WHERE projection = $1`,
        [this.#projection.name, last.position.transactionId, last.position.globalPosition],
      );
      return events.length;
    });
  }

  /** Applies batches until the projection has caught up with what is visible; returns the count. */
  async catchUp(batchSize = 500): Promise<number> {
    let applied = 0;
    for (let step = await this.step(batchSize); step > 0; step = await this.step(batchSize)) applied += step;
    return applied;
  }

  /**
   * Catches up every `intervalMs` until `stop`. One catch-up at a time: a slow one is not joined
   * by others queueing on the checkpoint's lock (each holding a connection of the pool meanwhile).
   */
  start(intervalMs: number, onError: (error: unknown) => void): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = this.catchUp()
        .catch(onError)
        .finally(() => {
          this.#running = undefined;
        });
    }, intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Empties the read model and moves the checkpoint back to the start: the next catch-up rebuilds it. */
  async reset(): Promise<void> {
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

  async #lockCheckpoint(transaction: Transaction): Promise<LogPosition> {
    await transaction.query('INSERT INTO es_checkpoints (projection) VALUES ($1) ON CONFLICT DO NOTHING', [
      this.#projection.name,
    ]);
    const { rows } = await transaction.query<{ transaction_id: string; global_position: string }>(
      `SELECT transaction_id::text, global_position::text FROM es_checkpoints WHERE projection = $1 FOR UPDATE`,
      [this.#projection.name],
    );
    const row = rows[0];
    return row ? { transactionId: row.transaction_id, globalPosition: row.global_position } : LOG_START;
  }
}
