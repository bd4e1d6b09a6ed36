import type pg from 'pg';
import type { Logger } from '../logging/create-logger.ts';

export interface RetentionSettings {
  pool: pg.Pool;
  logger: Logger;
  /** What is kept, for the log line, e.g. `inbox rows`. */
  what: string;
  /**
   * Deletes at most `$2` rows older than `$1` milliseconds and returns them (one batch); run
   * again until a batch comes back short.
   */
  deleteBatch: string;
  retentionMs: number;
  /**
   * Between sweeps; by default a 24th of the retention window (a row outlives it by at most that),
   * from a minute to an hour: an idle service does not sweep every minute what is kept for days.
   */
  intervalMs?: number;
  batchSize?: number;
}

/**
 * Removes what has outlived its retention window, in small batches, in the background, so a table
 * that only grows (the inbox, the message log) stays bounded without long locks.
 */
export class RetentionSweeper {
  readonly #settings: RetentionSettings;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;

  constructor(settings: RetentionSettings) {
    this.#settings = settings;
  }

  start(): void {
    const interval =
      this.#settings.intervalMs ?? Math.min(3_600_000, Math.max(60_000, this.#settings.retentionMs / 24));
    this.#timer = setInterval(() => {
      this.#running ??= this.sweep()
        .catch((error: unknown) => {
          this.#settings.logger.warn(
            { error, what: this.#settings.what },
            'retention sweep failed; will retry',
          );
          return 0;
        })
        .finally(() => {
          this.#running = undefined;
        });
    }, interval);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One full sweep; resolves with how many rows it removed. */
  async sweep(): Promise<number> {
    const { pool, deleteBatch, retentionMs, logger, what } = this.#settings;
    const batchSize = this.#settings.batchSize ?? 1_000;
    let removed = 0;
    for (;;) {
      const { rowCount } = await pool.query(deleteBatch, [retentionMs, batchSize]);
      removed += rowCount ?? 0;
      if ((rowCount ?? 0) < batchSize) break;
    }
    if (removed > 0) logger.info({ removed, what }, `removed ${removed} ${what} past their retention`);
    return removed;
  }
}

/** Inbox rows of messages handled longer ago than the window. */
export const INBOX_RETENTION = `
  DELETE FROM mercato_inbox WHERE ctid IN (
    SELECT ctid FROM mercato_inbox
     WHERE processed_at < now() - make_interval(secs => $1::double precision / 1000)
     LIMIT $2)`;

/** Messages older than the window that no group still has to handle (the store's foreign key agrees). */
export const MESSAGE_RETENTION = `
  DELETE FROM bus_messages WHERE position IN (
    SELECT m.position FROM bus_messages m
     WHERE m.kind = 'queue'
       AND m.published_at < now() - make_interval(secs => $1::double precision / 1000)
       AND NOT EXISTS (SELECT 1 FROM bus_deliveries d WHERE d.position = m.position)
     ORDER BY m.position
     LIMIT $2)`;
