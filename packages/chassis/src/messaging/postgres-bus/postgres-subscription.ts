import type pg from 'pg';
import type { Logger } from '../../logging/create-logger.ts';
import { WakeSignal } from '../../wake-signal.ts';
import { KeyedDispatcher } from '../keyed-dispatcher.ts';
import type { Delivery, Subscription, SubscriptionOptions } from '../message-bus.port.ts';

interface ClaimedRow {
  id: string;
  attempts: number;
  message_id: string;
  destination: string;
  partition_key: string;
  envelope: unknown;
}

export interface PostgresSubscriptionSettings {
  pool: pg.Pool;
  /** The delivery groups it claims from: the consumer group for topics, `queue:<name>` per queue. */
  groups: readonly string[];
  options: SubscriptionOptions;
  logger: Logger;
  visibilityTimeoutMs: number;
  renewClaims: boolean;
  pollIntervalMs: number;
  batchSize: number;
  onStop: (subscription: PostgresSubscription) => void;
}

// Only the oldest pending delivery of each key is claimable, so a key's messages are handled one
// at a time and in order, by whichever member claims them; SKIP LOCKED lets members not collide.
const CLAIM = `
  WITH claimable AS (
    SELECT d.id FROM bus_deliveries d
     WHERE d.group_name = ANY($1::text[])
       AND d.visible_at <= now()
       AND (d.locked_until IS NULL OR d.locked_until < now())
       AND NOT EXISTS (
         SELECT 1 FROM bus_deliveries earlier
          WHERE earlier.group_name = d.group_name AND earlier.partition_key = d.partition_key AND earlier.id < d.id)
     ORDER BY d.id
     LIMIT $2
     FOR UPDATE OF d SKIP LOCKED
  )
  UPDATE bus_deliveries d
     SET locked_until = now() + make_interval(secs => $3::double precision / 1000), attempts = d.attempts + 1
    FROM claimable c, bus_messages m
   WHERE d.id = c.id AND m.position = d.position
  RETURNING d.id::text AS id, d.attempts, m.message_id, m.destination, m.partition_key, m.envelope`;

/**
 * Claim loops per member: while one loop's batch is being handled, the other claims the next, so
 * the member is not idle for a claim's round trip and cost. Handlers stay within `concurrency`
 * through one dispatcher. Two loops never hold one key at once (only a key's oldest delivery is
 * claimable, and it stays, locked, until acknowledged), so order per key holds. In bench/bus two
 * loops doubled a member's throughput at the same concurrency.
 */
const CLAIM_LOOPS = 2;

/** One member of a consumer group on the PostgreSQL store: claims, hands out, acknowledges. */
export class PostgresSubscription implements Subscription {
  readonly groups: readonly string[];
  readonly #settings: PostgresSubscriptionSettings;
  readonly #signals = Array.from({ length: CLAIM_LOOPS }, () => new WakeSignal());
  readonly #dispatcher: KeyedDispatcher;
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(settings: PostgresSubscriptionSettings) {
    this.groups = settings.groups;
    this.#settings = settings;
    this.#dispatcher = new KeyedDispatcher(settings.options.concurrency ?? 16);
  }

  start(): void {
    this.#running = true;
    this.#loop = Promise.all(this.#signals.map((signal) => this.#run(signal))).then(() => undefined);
  }

  wake(): void {
    for (const signal of this.#signals) signal.wake();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
    this.#settings.onStop(this);
  }

  async #run(signal: WakeSignal): Promise<void> {
    const { logger, pollIntervalMs } = this.#settings;
    let failures = 0;
    while (this.#running) {
      let handled = 0;
      try {
        handled = await this.#claimAndHandle();
        failures = 0;
      } catch (error) {
        failures += 1;
        logger.warn({ error, groups: this.groups }, 'claiming deliveries failed; retrying');
        await signal.sleep(Math.min(5_000, 200 * 2 ** failures));
        continue;
      }
      // A full batch suggests more is waiting; otherwise wait for a notification or the poll.
      if (handled < this.#limit()) await signal.sleep(pollIntervalMs);
    }
  }

  #limit(): number {
    return Math.min(this.#settings.batchSize, this.#settings.options.concurrency ?? 16);
  }

  async #claimAndHandle(): Promise<number> {
    const { pool, visibilityTimeoutMs } = this.#settings;
    const { rows } = await pool.query<ClaimedRow>(CLAIM, [this.groups, this.#limit(), visibilityTimeoutMs]);
    if (rows.length === 0) return 0;
    const acknowledged: string[] = [];
    const handled: Array<Promise<void>> = [];
    const inHand = new Set(rows.map((row) => row.id));
    const renewing = this.#renewWhileHeld(inHand);
    try {
      // Every claimed row has a different key; the dispatcher keeps handlers within `concurrency`.
      for (const row of rows) {
        const { settled } = await this.#dispatcher.admit(row.partition_key, () =>
          this.#deliver(row, acknowledged).finally(() => inHand.delete(row.id)),
        );
        handled.push(settled);
      }
      await Promise.all(handled);
    } finally {
      clearInterval(renewing);
    }
    // Acknowledged in one statement; a crash before it only means a redelivery the inbox absorbs.
    if (acknowledged.length > 0)
      await pool.query('DELETE FROM bus_deliveries WHERE id = ANY($1::bigint[])', [acknowledged]);
    return rows.length;
  }

  /**
   * Keeps the claim on deliveries still being handled, every third of the visibility timeout. The
   * timeout can then be short: a member that dies (kill -9) stops renewing, and what it held is
   * redelivered within one timeout, while a live member with a slow handler keeps its claim.
   */
  #renewWhileHeld(inHand: Set<string>): NodeJS.Timeout {
    const { pool, visibilityTimeoutMs, logger, renewClaims } = this.#settings;
    const timer = setInterval(
      () => {
        if (inHand.size === 0 || !renewClaims) return;
        pool
          .query(
            `UPDATE bus_deliveries SET locked_until = now() + make_interval(secs => $2::double precision / 1000)
              WHERE id = ANY($1::bigint[]) AND locked_until IS NOT NULL`,
            [[...inHand], visibilityTimeoutMs],
          )
          .catch((error: unknown) => logger.warn({ error, groups: this.groups }, 'renewing claims failed'));
      },
      Math.max(50, Math.floor(visibilityTimeoutMs / 3)),
    );
    timer.unref();
    return timer;
  }

  async #deliver(row: ClaimedRow, acknowledged: string[]): Promise<void> {
    const { pool, options, logger } = this.#settings;
    const delivery: Delivery = {
      messageId: row.message_id,
      destination: row.destination,
      key: row.partition_key,
      envelope: row.envelope,
      attempt: row.attempts,
      ack: async () => {
        acknowledged.push(row.id);
      },
      retryLater: async (delayMs) => {
        await pool.query(
          `UPDATE bus_deliveries SET locked_until = NULL,
                  visible_at = now() + make_interval(secs => $2::double precision / 1000) WHERE id = $1`,
          [row.id, delayMs],
        );
      },
    };
    try {
      await options.onDelivery(delivery);
    } catch (error) {
      logger.error({ error, groups: this.groups, message_id: row.message_id }, 'delivery handler threw');
      await delivery.retryLater(1_000);
    }
  }
}
