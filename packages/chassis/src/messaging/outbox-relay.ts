import pg from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Pool } from '../db/database.ts';
import type { Logger } from '../logging/create-logger.ts';
import { QuietBackoff } from '../quiet-backoff.ts';
import { WakeSignal } from '../wake-signal.ts';
import type { DestinationKind, MessageBus, OutgoingMessage } from './message-bus.port.ts';
import { OUTBOX_CHANNEL } from './outbox.ts';

export interface OutboxRelaySettings {
  pool: Pool;
  /** For the relay's own session, which holds the leader lock and LISTENs. */
  databaseUrl: string;
  bus: MessageBus;
  logger: Logger;
  registry: Registry;
  batchSize?: number;
  /**
   * Safety-net poll (default 30 s). `Outbox.append` NOTIFYs on commit and the relay LISTENs on its
   * leader session; a lost session wakes the loop to reconnect and publish what came meanwhile, so
   * the poll only covers a notification lost some other way. It doubles while the relay finds
   * nothing, up to 8 times as long (QuietBackoff).
   */
  pollIntervalMs?: number;
  /**
   * How long a published batch may wait to be deleted by the read of the next one (default 50 ms):
   * under load the next append's notification comes sooner and the delete rides on that read;
   * otherwise the relay wakes after this long to delete it (with a read that finds nothing).
   */
  deleteWithinMs?: number;
}

interface OutboxRow {
  position: string;
  kind: DestinationKind;
  destination: string;
  partition_key: string;
  envelope: OutgoingMessage['envelope'];
}

// Any constant works; it only has to be the same for every replica of a service (one database each).
const LEADER_LOCK = 7_340_210_551;

// The next batch, in position order. Ordered by the column, not by the text alias: as text,
// position 10 would sort before 2.
const READ = `SELECT o.position::text AS position, o.kind, o.destination, o.partition_key, o.envelope
   FROM mercato_outbox o ORDER BY o.position LIMIT $1`;

// The same, deleting the batch published before ($2) in the same statement. The statement's
// snapshot still shows the rows it deletes, so they are left out of the read by hand.
const DELETE_AND_READ = `WITH deleted AS (DELETE FROM mercato_outbox WHERE position = ANY($2::bigint[]))
  SELECT o.position::text AS position, o.kind, o.destination, o.partition_key, o.envelope
    FROM mercato_outbox o WHERE o.position <> ALL($2::bigint[]) ORDER BY o.position LIMIT $1`;

/**
 * Publishes the outbox. One replica at a time holds a session advisory lock and publishes batches
 * in position order, so messages keep their order per key; it deletes a batch only after the bus
 * has it. A crash between the two publishes the batch again, which broker dedup and consumer
 * inboxes absorb. It wakes on NOTIFY from `Outbox.append` and polls as a safety net.
 */
export class OutboxRelay {
  readonly #settings: Required<OutboxRelaySettings>;
  readonly #published: Counter;
  // Appends committed faster than this are published together: one batch (a read, a publish, a
  // delete) per interval under load instead of one per append; the first after a quiet spell at once.
  readonly #signal = new WakeSignal({ coalesceMs: 10 });
  #running = false;
  #loop: Promise<void> | undefined;
  #client: pg.Client | undefined;
  readonly #quiet: QuietBackoff;
  /** Published, not deleted yet: the next read deletes them (see DELETE_AND_READ). */
  #unDeleted: string[] = [];

  constructor(settings: OutboxRelaySettings) {
    this.#settings = { batchSize: 500, pollIntervalMs: 30_000, deleteWithinMs: 50, ...settings };
    this.#quiet = new QuietBackoff(this.#settings.pollIntervalMs);
    const { pool, registry } = this.#settings;
    this.#published = new Counter({
      name: 'outbox_published_total',
      help: 'Messages the relay has handed to the bus',
      registers: [registry],
    });
    new Gauge({
      name: 'outbox_backlog',
      help: 'Messages committed to the outbox and not yet published',
      registers: [registry],
      async collect() {
        const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM mercato_outbox');
        this.set(rows[0]?.n ?? 0);
      },
    });
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#signal.wake();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { logger } = this.#settings;
    while (this.#running) {
      try {
        const client = await this.#leaderSession();
        if (!client) {
          await this.#signal.sleep(2_000); // Another replica leads; stand by.
          continue;
        }
        const published = await this.#publishBatch(client);
        if (published > 0) this.#quiet.busy();
        if (published === this.#settings.batchSize) continue;
        // A quiet pass decides the safety net's interval; a batch waiting to be deleted caps it.
        const quiet = published === 0 ? this.#quiet.quiet() : this.#settings.pollIntervalMs;
        await this.#signal.sleep(
          this.#unDeleted.length > 0 ? Math.min(this.#settings.deleteWithinMs, quiet) : quiet,
        );
      } catch (error) {
        logger.warn({ error }, 'outbox relay failed; retrying');
        await this.#dropSession();
        await this.#signal.sleep(1_000);
      }
    }
    await this.#deletePublished().catch((error: unknown) =>
      logger.warn({ error }, 'deleting the last published batch failed; it is published again on start'),
    );
    await this.#dropSession();
  }

  /**
   * Reads a batch (deleting the one published before in the same statement), hands it to the bus,
   * and leaves it to the next read to delete: one statement a batch instead of two. A crash before
   * that read publishes the batch again, as a crash between publish and delete always did; broker
   * dedup and consumers' inboxes absorb it.
   */
  async #publishBatch(client: pg.Client | Pool): Promise<number> {
    const deleting = this.#unDeleted;
    const { rows } = await client.query<OutboxRow>(
      deleting.length > 0 ? DELETE_AND_READ : READ,
      deleting.length > 0 ? [this.#settings.batchSize, deleting] : [this.#settings.batchSize],
    );
    this.#unDeleted = [];
    if (rows.length === 0) return 0;
    await this.#settings.bus.publish(
      rows.map((row) => ({
        kind: row.kind,
        destination: row.destination,
        key: row.partition_key,
        envelope: row.envelope,
      })),
    );
    this.#unDeleted = rows.map((row) => row.position);
    this.#published.inc(rows.length);
    return rows.length;
  }

  /** Deletes the batch published last (on stop: there is no next read to do it). */
  async #deletePublished(): Promise<void> {
    if (this.#unDeleted.length === 0 || !this.#client) return;
    await this.#client.query('DELETE FROM mercato_outbox WHERE position = ANY($1::bigint[])', [
      this.#unDeleted,
    ]);
    this.#unDeleted = [];
  }

  /** The relay's session if it holds (or just took) the leader lock; undefined if another replica does. */
  async #leaderSession(): Promise<pg.Client | undefined> {
    if (this.#client) return this.#client;
    const client = new pg.Client({
      connectionString: this.#settings.databaseUrl,
      application_name: 'outbox-relay',
    });
    // A lost session no longer LISTENs: wake the loop to reconnect (and catch up) at once.
    client.on('error', () => {
      void this.#dropSession();
      this.#signal.wake();
    });
    await client.connect();
    const { rows } = await client.query<{ leader: boolean }>('SELECT pg_try_advisory_lock($1) AS leader', [
      LEADER_LOCK,
    ]);
    if (!rows[0]?.leader) {
      await client.end();
      return undefined;
    }
    client.on('notification', () => this.#signal.wake());
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    this.#client = client;
    this.#settings.logger.info('outbox relay is the leader');
    return client;
  }

  async #dropSession(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}
