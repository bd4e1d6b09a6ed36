import { setTimeout as sleep } from 'node:timers/promises';
import { inTransaction, type Logger, type Outbox, type Pool } from '@mercato/chassis';
import pg from 'pg';
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from 'pg-logical-replication';
import type { CdcMetrics } from './cdc-metrics.ts';
import type { CdcPositions } from './cdc-position.ts';
import { changeMessage } from './change-message.ts';
import { takeInitialSnapshot } from './initial-snapshot.ts';
import { lsnBefore, lsnValue } from './lsn.ts';
import {
  beat,
  createSlotWithSnapshot,
  dropSlot,
  prepareSource,
  retainedWalBytes,
  SourceSetupError,
  slotExists,
} from './source-database.ts';
import { type SourceTransaction, TransactionBuffer } from './transaction-buffer.ts';

export interface ChangeStreamSettings {
  source: pg.ClientConfig;
  slot: string;
  publication: string;
  heartbeatMs: number;
  snapshotFetch: number;
}

export interface ChangeStreamParts {
  pool: Pool;
  outbox: Outbox;
  positions: CdcPositions;
  metrics: CdcMetrics;
  logger: Logger;
  /** Called once when the source cannot be captured at all (wal_level, privileges): stop the process. */
  onFatal: (error: SourceSetupError) => void;
}

const RETRY_MS = [200, 500, 1_000, 2_000, 5_000] as const;
/** Changes written to the outbox in one transaction at most (a larger source transaction alone). */
const BATCH_CHANGES = 2_000;

/**
 * Confirms to the slot that the log before `lsn` (a commit's end) is in the outbox. The library
 * sends the LSN it is given plus one (a physical standby's "last byte + 1"), and the server resumes
 * decoding at what was confirmed: a transaction whose commit record begins exactly at `lsn` (two
 * commits back to back) would be skipped at the next start, and lost. So it is given the byte before.
 */
const confirm = (replication: LogicalReplicationService, lsn: string) =>
  replication.acknowledge(lsnBefore(lsn));

/**
 * The monolith's changes into this process's outbox: on the first start the initial snapshot, then
 * the log from the slot, whole source transactions written with the position after them (the ones
 * that arrived together in one outbox transaction), confirmed to the slot only once committed here. Any failure (PostgreSQL gone, this database gone)
 * ends the stream and it starts again from the slot: what the log replays at or below the recorded
 * position is skipped, so every change reaches the outbox exactly once.
 */
export class ChangeStream {
  readonly #settings: ChangeStreamSettings;
  readonly #parts: ChangeStreamParts;
  #running: AbortController | undefined;
  #done: Promise<void> | undefined;
  #replication: LogicalReplicationService | undefined;

  constructor(settings: ChangeStreamSettings, parts: ChangeStreamParts) {
    this.#settings = settings;
    this.#parts = parts;
  }

  start(): void {
    if (this.#running) return;
    const running = new AbortController();
    this.#running = running;
    this.#done = Promise.all([this.#streamUntil(running.signal), this.#beatUntil(running.signal)]).then(
      () => {},
    );
  }

  async stop(): Promise<void> {
    this.#running?.abort();
    await this.#replication?.stop().catch(() => undefined);
    await this.#done;
    this.#running = undefined;
  }

  async #streamUntil(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const startedAt = Date.now();
      try {
        await this.#streamOnce(signal);
      } catch (error) {
        if (error instanceof SourceSetupError) {
          this.#parts.onFatal(error);
          return;
        }
        if (signal.aborted) return;
        this.#parts.metrics.restarts.inc();
        this.#parts.logger.warn({ err: error }, 'change stream ended; starting it again from the slot');
      }
      failures = Date.now() - startedAt > 10_000 ? 1 : failures + 1;
      await sleep(RETRY_MS[Math.min(failures, RETRY_MS.length) - 1] ?? 5_000, undefined, { signal }).catch(
        () => undefined,
      );
    }
  }

  async #streamOnce(signal: AbortSignal): Promise<void> {
    const { slot, source } = this.#settings;
    const { positions, logger } = this.#parts;
    const admin = new pg.Client(source);
    await admin.connect();
    try {
      await prepareSource(admin, this.#settings.publication);
      const position = await positions.read(slot);
      const exists = await slotExists(admin, slot);
      if (position && !exists)
        throw new SourceSetupError(
          `replication slot ${slot} is gone but this process's position says it streamed up to ${position.lsn}: changes since are lost; drop the position (DELETE FROM cdc_position) to take a new snapshot`,
        );
      if (!position) {
        // A slot without a position is a snapshot that never committed here: begin again.
        if (exists) await dropSlot(admin, slot);
        await this.#snapshot();
        return;
      }
    } finally {
      await admin.end().catch(() => undefined);
    }
    if (signal.aborted) return;
    await this.#follow(signal);
    logger.info('change stream ended');
  }

  async #snapshot(): Promise<void> {
    const { logger, metrics } = this.#parts;
    const startedAt = Date.now();
    const exported = await createSlotWithSnapshot(this.#settings.source, this.#settings.slot);
    try {
      const rows = await takeInitialSnapshot(
        exported,
        { source: this.#settings.source, slot: this.#settings.slot, fetchSize: this.#settings.snapshotFetch },
        this.#parts,
      );
      metrics.snapshotRows.set(rows);
      logger.info(
        { rows, consistent_point: exported.consistentPoint, took_ms: Date.now() - startedAt },
        `initial snapshot of the monolith: ${rows} rows; streaming from ${exported.consistentPoint}`,
      );
    } finally {
      await exported.replication.end().catch(() => undefined);
    }
  }

  /** Streams from the slot until stopped or the connection fails (then rejects). */
  async #follow(signal: AbortSignal): Promise<void> {
    const position = await this.#parts.positions.read(this.#settings.slot);
    if (!position) throw new Error('no position to stream from');
    let confirmed = position.lsn;
    const buffer = new TransactionBuffer();
    // Acknowledged by hand, and only what is committed here: the library's own periodic status would
    // confirm whatever it last received.
    const replication = new LogicalReplicationService(this.#settings.source, {
      acknowledge: { auto: false, timeoutSeconds: 0 },
      flowControl: { enabled: true },
    });
    this.#replication = replication;
    let failure: unknown;
    replication.on('error', (error: Error) => {
      failure ??= error;
      void replication.stop();
    });
    replication.on('heartbeat', async (_lsn: string, _at: number, shouldRespond: boolean) => {
      if (shouldRespond) await confirm(replication, confirmed).catch(() => undefined);
    });
    // Whole source transactions wait here until the stream has nothing more to hand over at once
    // (or there are many), then go to the outbox in one transaction: one commit per batch, not per
    // source transaction, which is what the capture's rate was bound by (bench/cdc).
    let pending: SourceTransaction[] = [];
    let pendingChanges = 0;
    let flushing: Promise<void> = Promise.resolve();
    let scheduled = false;
    let closed = false;
    const flush = (): Promise<void> => {
      flushing = flushing
        .then(async () => {
          if (failure || closed || pending.length === 0) return;
          const batch = pending;
          pending = [];
          pendingChanges = 0;
          await this.#write(batch, confirmed);
          const last = batch.at(-1)?.endLsn ?? confirmed;
          if (lsnValue(last) > lsnValue(confirmed)) confirmed = last;
          await confirm(replication, confirmed);
        })
        .catch((error: unknown) => {
          failure ??= error;
          void replication.stop();
        });
      return flushing;
    };
    replication.on('data', async (_lsn: string, message: Pgoutput.Message) => {
      if (failure) return;
      const transaction = buffer.take(message);
      if (!transaction) return;
      pending.push(transaction);
      pendingChanges += transaction.changes.length;
      if (pendingChanges >= BATCH_CHANGES) return flush();
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        void flush();
      });
    });
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [this.#settings.publication] });
    const sample = setInterval(() => void this.#sampleRetained(), 5_000);
    try {
      await replication.subscribe(plugin, this.#settings.slot, position.lsn);
    } finally {
      clearInterval(sample);
      this.#replication = undefined;
      await replication.destroy().catch(() => undefined);
      // A write still under way ends before the next stream reads the position it records, and none
      // starts after: the two must never write the same source transaction. What waits is replayed.
      closed = true;
      await flushing;
    }
    if (failure && !signal.aborted) throw failure;
  }

  /**
   * Source transactions into the outbox in one transaction, with the position after the last,
   * except those already there (replayed after a crash: at or below the recorded position).
   */
  async #write(transactions: readonly SourceTransaction[], confirmed: string): Promise<void> {
    const { pool, outbox, positions, metrics, logger } = this.#parts;
    for (const transaction of transactions)
      if (transaction.truncated.length > 0)
        logger.error(
          { tables: transaction.truncated, lsn: transaction.commitLsn },
          'the monolith truncated captured tables: a truncate is not captured, run the checker and re-snapshot',
        );
    const last = transactions.at(-1);
    if (!last) return;
    const fresh = transactions.filter(
      (transaction) => transaction.changes.length > 0 && lsnValue(transaction.endLsn) > lsnValue(confirmed),
    );
    if (fresh.length > 0)
      await inTransaction(pool, async (tx) => {
        const entries = fresh.flatMap((transaction) => {
          const source = {
            kind: 'stream' as const,
            lsn: transaction.commitLsn,
            txId: transaction.xid,
            committedAt: transaction.committedAt,
          };
          return transaction.changes.map((change, index) => changeMessage(change, source, index));
        });
        await outbox.append(tx, entries);
        await positions.advanced(tx, this.#settings.slot, last.endLsn, last.committedAt);
      });
    metrics.lagSeconds.set(Math.max(0, (Date.now() - last.committedAt.getTime()) / 1000));
    for (const transaction of fresh)
      for (const change of transaction.changes)
        metrics.changes.inc({ table: change.table.name, op: change.op });
  }

  async #beatUntil(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const client = new pg.Client(this.#settings.source);
      client.on('error', () => undefined);
      try {
        await client.connect();
        while (!signal.aborted) {
          await beat(client, new Date());
          await sleep(this.#settings.heartbeatMs, undefined, { signal }).catch(() => undefined);
        }
      } catch {
        // PostgreSQL is away (the stream reports it): beat again on a new connection in a moment.
        await sleep(1_000, undefined, { signal }).catch(() => undefined);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }

  async #sampleRetained(): Promise<void> {
    const client = new pg.Client(this.#settings.source);
    client.on('error', () => undefined);
    try {
      await client.connect();
      const retained = await retainedWalBytes(client, this.#settings.slot);
      if (retained !== undefined) this.#parts.metrics.retainedWalBytes.set(retained);
    } catch {
      // Sampled again in a moment.
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
