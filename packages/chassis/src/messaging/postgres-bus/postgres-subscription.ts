import type pg from 'pg';
import type { Logger } from '../../logging/create-logger.ts';
import { QuietBackoff } from '../../quiet-backoff.ts';
import { WakeSignal } from '../../wake-signal.ts';
import { KeyedDispatcher } from '../keyed-dispatcher.ts';
import type { Delivery, Subscription, SubscriptionOptions } from '../message-bus.port.ts';

interface ClaimedRow {
  id: string;
  due_in_ms: null;
  attempts: number;
  message_id: string;
  destination: string;
  partition_key: string;
  envelope: unknown;
}

/** The claim's extra row when it found nothing: when the next head falls due (ms; NULL: none pending). */
interface DueRow {
  id: null;
  due_in_ms: number | null;
}

/** What one look at the groups gave: deliveries handled, or when to look again. */
interface Look {
  handled: number;
  dueInMs: number | null;
  /** Handled deliveries to acknowledge: the loop's next claim does (or, when it stops, one statement). */
  acknowledged: ClaimedRow[];
}

export interface PostgresSubscriptionSettings {
  pool: pg.Pool;
  /** The delivery groups it claims from: the consumer group for topics, `queue:<name>` per queue. */
  groups: readonly string[];
  options: SubscriptionOptions;
  logger: Logger;
  visibilityTimeoutMs: number;
  renewClaims: boolean;
  /** Written on each claim; a member restarted under the same id releases its predecessor's claims. */
  memberId: string;
  /** Whether `memberId` outlives the process (an instance id), so its old claims are a dead predecessor's. */
  stableMemberId: boolean;
  /** The safety-net poll, doubling while claims find nothing, up to 8 times as long (QuietBackoff). */
  pollIntervalMs: number;
  batchSize: number;
  onStop: (subscription: PostgresSubscription) => void;
}

// Only the oldest pending delivery of each key is claimable, so a key's messages are handled one
// at a time and in order, by whichever member claims them; SKIP LOCKED lets members not collide.
// A subscription takes only its own destinations ($6): two subscriptions of one consumer group on
// different topics share the group's deliveries, and neither may take, or wait on, the other's.
// When nothing was claimed and $5 is true, one more row says when the next delivery of these groups
// becomes claimable (a claim lapses, a retry falls due): only heads of keys count (the others wait
// for their head's acknowledgement, which wakes the loop). Read in the same statement, so an idle
// member's look costs one statement, not two. A head due already but not claimed is being claimed
// by another transaction right now (SKIP LOCKED passed it over).
//
// The deliveries the previous claim's batch handled ($7 ids, $8 attempts) are acknowledged by the
// same statement: a busy loop claims again right after its batch, so each batch's acknowledgement
// rides on the next claim instead of costing a transaction of its own. The statement's snapshot
// still shows the acknowledged rows, so they are left out by hand, as claims and as earlier
// messages of their keys (the next message of a key is claimable in the statement that
// acknowledges its head). An acknowledgement fenced out (the claim lapsed and was taken) deletes
// nothing and so still holds its key back.
const CLAIM = `
  WITH acknowledged AS (
    DELETE FROM bus_deliveries d USING unnest($7::bigint[], $8::int[]) AS c(id, attempts)
     WHERE d.id = c.id AND d.attempts = c.attempts
    RETURNING d.id
  ), claimable AS (
    SELECT d.id FROM bus_deliveries d
     WHERE d.group_name = ANY($1::text[])
       AND d.visible_at <= now()
       AND (d.locked_until IS NULL OR d.locked_until < now())
       AND d.destination = ANY($6::text[])
       AND d.id NOT IN (SELECT id FROM acknowledged)
       AND NOT EXISTS (
         SELECT 1 FROM bus_deliveries earlier
          WHERE earlier.group_name = d.group_name AND earlier.partition_key = d.partition_key AND earlier.id < d.id
            AND earlier.destination = ANY($6::text[]) AND earlier.id NOT IN (SELECT id FROM acknowledged))
     ORDER BY d.id
     LIMIT $2
     FOR UPDATE OF d SKIP LOCKED
  ), claimed AS (
    UPDATE bus_deliveries d
       SET locked_until = now() + make_interval(secs => $3::double precision / 1000), attempts = d.attempts + 1,
           claimed_by = $4
      FROM claimable c, bus_messages m
     WHERE d.id = c.id AND m.position = d.position
    RETURNING d.id::text AS id, d.attempts, m.message_id, m.destination, m.partition_key, m.envelope
  )
  SELECT id, attempts, message_id, destination, partition_key, envelope, NULL::float8 AS due_in_ms FROM claimed
  UNION ALL
  SELECT NULL, NULL, NULL, NULL, NULL, NULL,
         (extract(epoch FROM min(greatest(d.visible_at, coalesce(d.locked_until, d.visible_at))) - now()) * 1000)::float8
    FROM bus_deliveries d
   WHERE $5::boolean AND NOT EXISTS (SELECT 1 FROM claimed)
     AND d.group_name = ANY($1::text[]) AND d.destination = ANY($6::text[])
     AND d.id NOT IN (SELECT id FROM acknowledged)
     AND NOT EXISTS (
       SELECT 1 FROM bus_deliveries earlier
        WHERE earlier.group_name = d.group_name AND earlier.partition_key = d.partition_key AND earlier.id < d.id
          AND earlier.destination = ANY($6::text[]) AND earlier.id NOT IN (SELECT id FROM acknowledged))`;

// Every statement that ends or extends a claim names it by (id, attempts): a member whose claim
// lapsed and was taken by another (attempts moved on) changes nothing.
const ACKNOWLEDGE = `DELETE FROM bus_deliveries d USING unnest($1::bigint[], $2::int[]) AS c(id, attempts)
  WHERE d.id = c.id AND d.attempts = c.attempts`;
const RENEW = `UPDATE bus_deliveries d SET locked_until = now() + make_interval(secs => $3::double precision / 1000)
    FROM unnest($1::bigint[], $2::int[]) AS c(id, attempts)
   WHERE d.id = c.id AND d.attempts = c.attempts AND d.locked_until IS NOT NULL`;
const RETRY_LATER = `UPDATE bus_deliveries SET locked_until = NULL,
         visible_at = now() + make_interval(secs => $3::double precision / 1000)
   WHERE id = $1 AND attempts = $2`;
// A restarted member's predecessor is dead (an instance id is never shared by two live processes):
// what it held is claimable at once.
const RELEASE_PREDECESSOR = `UPDATE bus_deliveries SET locked_until = NULL
   WHERE group_name = ANY($1::text[]) AND claimed_by = $2 AND locked_until IS NOT NULL`;

/**
 * Claim loops per member: while one loop's batch is being handled, the other claims the next, so
 * the member is not idle for a claim's round trip and cost. Handlers stay within `concurrency`
 * through one dispatcher. Two loops never hold one key at once (only a key's oldest delivery is
 * claimable, and it stays, locked, until acknowledged), so order per key holds. In bench/bus two
 * loops doubled a member's throughput at the same concurrency.
 */
const CLAIM_LOOPS = 2;

/** The shortest time between two claims woken by notifications (see WakeSignal's coalesceMs). */
const COALESCE_MS = 10;

/** One member of a consumer group on the PostgreSQL store: claims, hands out, acknowledges. */
export class PostgresSubscription implements Subscription {
  readonly groups: readonly string[];
  readonly #settings: PostgresSubscriptionSettings;
  // Publishes coming faster than COALESCE_MS are claimed together: one claim per interval per loop
  // under load instead of one per publish; the first after a quiet spell at once.
  readonly #signals = Array.from({ length: CLAIM_LOOPS }, () => new WakeSignal({ coalesceMs: COALESCE_MS }));
  /** Which loops are asleep: a notification wakes one of them, not all (see `wake`). */
  readonly #asleep = Array.from({ length: CLAIM_LOOPS }, () => false);
  readonly #dispatcher: KeyedDispatcher;
  /** Claims in hand, id → attempts (the claim's fencing token), renewed together. */
  readonly #held = new Map<string, number>();
  #renewal: NodeJS.Timeout | undefined;
  readonly #quiet: QuietBackoff;
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(settings: PostgresSubscriptionSettings) {
    this.groups = settings.groups;
    this.#settings = settings;
    this.#dispatcher = new KeyedDispatcher(settings.options.concurrency ?? 16);
    this.#quiet = new QuietBackoff(settings.pollIntervalMs);
  }

  async start(): Promise<void> {
    const { pool, memberId, stableMemberId, visibilityTimeoutMs } = this.#settings;
    if (stableMemberId) await pool.query(RELEASE_PREDECESSOR, [this.groups, memberId]);
    this.#running = true;
    this.#renewal = setInterval(() => this.#renew(), Math.max(50, Math.floor(visibilityTimeoutMs / 3)));
    this.#renewal.unref();
    this.#loop = Promise.all(this.#signals.map((_, index) => this.#run(index))).then(() => undefined);
  }

  /**
   * New deliveries were published for these groups. One sleeping loop is enough to claim them (both
   * woken, one found nothing: a wasted claim per publish). Every loop awake now looks again before
   * it sleeps (its next sleep returns at once): its claim may have taken its snapshot before the
   * publish committed. Waking a sleeping loop is not enough for that: when the awake loop's claim
   * carries the acknowledgement of a key's head, the sleeping loop's claim may still see the head
   * and pass the new message over, while the awake one's, its snapshot older, does not see the
   * message; both would then sleep until the safety net (30 s), as a legacy e2e run did under load.
   */
  wake(): void {
    const index = this.#asleep.indexOf(true);
    this.#asleep.forEach((asleep, loop) => {
      if (!asleep || loop === index) this.#signals[loop]?.wake();
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const signal of this.#signals) signal.wake();
    await this.#loop;
    clearInterval(this.#renewal);
    this.#settings.onStop(this);
  }

  /**
   * One claim loop. Idle, it runs no statement: a notification of the groups (a publish) wakes it.
   * Only the first loop (`timed`) also wakes when the next delivery falls due — a claim lapses, a
   * retry's delay ends — and on the safety-net poll; its claim says when that is when it finds
   * nothing, i.e. after something changed, never on a timer of its own.
   */
  async #run(index: number): Promise<void> {
    const { logger, visibilityTimeoutMs } = this.#settings;
    const timed = index === 0;
    let failures = 0;
    // Handled by the last batch; a failed claim did not acknowledge them, so the next one tries.
    let toAcknowledge: ClaimedRow[] = [];
    while (this.#running) {
      let look: Look;
      try {
        look = await this.#claimAndHandle(timed, toAcknowledge);
        toAcknowledge = look.acknowledged;
        failures = 0;
      } catch (error) {
        failures += 1;
        logger.warn({ error, groups: this.groups }, 'claiming deliveries failed; retrying');
        await this.#sleep(index, Math.min(5_000, 200 * 2 ** failures));
        continue;
      }
      // Something handled may have let the next message of its key through: look again at once.
      if (look.handled > 0) {
        this.#quiet.busy();
        continue;
      }
      // Otherwise wait for a notification, or until a claim lapses or a retry falls due, or the poll.
      if (!timed) {
        await this.#sleep(index, Number.POSITIVE_INFINITY);
        continue;
      }
      // Nothing pending: NULL. Due already: another member is claiming it now; its claim lapses
      // within the visibility timeout if that member dies. Otherwise a few ms past the due time,
      // so the claim finds it lapsed on the server's clock too.
      const due = look.dueInMs;
      const wait = due === null ? Number.POSITIVE_INFINITY : due <= 0 ? visibilityTimeoutMs : due + 20;
      await this.#sleep(index, Math.min(this.#quiet.quiet(), wait));
    }
    // Stopping after a batch: its acknowledgement has no next claim to ride on. If it fails, the
    // deliveries come back once their claims lapse and the inbox recognises them.
    await this.#acknowledge(toAcknowledge).catch((error: unknown) =>
      logger.warn({ error, groups: this.groups }, 'acknowledging deliveries failed'),
    );
  }

  async #acknowledge(rows: readonly ClaimedRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#settings.pool.query(ACKNOWLEDGE, [
      rows.map((row) => row.id),
      rows.map((row) => row.attempts),
    ]);
  }

  async #sleep(index: number, ms: number): Promise<void> {
    this.#asleep[index] = true;
    try {
      await this.#signals[index]?.sleep(ms);
    } finally {
      this.#asleep[index] = false;
    }
  }

  #limit(): number {
    return Math.min(this.#settings.batchSize, this.#settings.options.concurrency ?? 16);
  }

  /** Acknowledges `handled` (the last batch) and claims the next batch in one statement, then handles it. */
  async #claimAndHandle(timed: boolean, handled: readonly ClaimedRow[]): Promise<Look> {
    const { pool, visibilityTimeoutMs, memberId } = this.#settings;
    const { rows: found } = await pool.query<ClaimedRow | DueRow>(CLAIM, [
      this.groups,
      this.#limit(),
      visibilityTimeoutMs,
      memberId,
      timed,
      this.#settings.options.destinations,
      handled.map((row) => row.id),
      handled.map((row) => row.attempts),
    ]);
    const rows = found.filter((row): row is ClaimedRow => row.id !== null);
    if (rows.length === 0) return { handled: 0, dueInMs: found[0]?.due_in_ms ?? null, acknowledged: [] };
    const acknowledged: ClaimedRow[] = [];
    const settling: Array<Promise<void>> = [];
    for (const row of rows) this.#held.set(row.id, row.attempts);
    // Every claimed row has a different key; the dispatcher keeps handlers within `concurrency`.
    for (const row of rows) {
      const { settled } = await this.#dispatcher.admit(row.partition_key, () =>
        this.#deliver(row, acknowledged).finally(() => this.#held.delete(row.id)),
      );
      settling.push(settled);
    }
    await Promise.all(settling);
    // Acknowledged together by the next claim, right after; a crash before it only means a
    // redelivery the inbox absorbs.
    return { handled: rows.length, dueInMs: null, acknowledged };
  }

  /**
   * Keeps the claims on deliveries still being handled, every third of the visibility timeout, all
   * of this member's in one statement. The timeout can then be short: a member that dies (kill -9)
   * stops renewing, and what it held is redelivered within one timeout, while a live member with a
   * slow handler keeps its claims.
   */
  #renew(): void {
    const { pool, visibilityTimeoutMs, logger, renewClaims } = this.#settings;
    if (this.#held.size === 0 || !renewClaims) return;
    pool
      .query(RENEW, [[...this.#held.keys()], [...this.#held.values()], visibilityTimeoutMs])
      .catch((error: unknown) => logger.warn({ error, groups: this.groups }, 'renewing claims failed'));
  }

  async #deliver(row: ClaimedRow, acknowledged: ClaimedRow[]): Promise<void> {
    const { pool, options, logger } = this.#settings;
    const delivery: Delivery = {
      messageId: row.message_id,
      destination: row.destination,
      key: row.partition_key,
      envelope: row.envelope,
      attempt: row.attempts,
      ack: async () => {
        acknowledged.push(row);
      },
      retryLater: async (delayMs) => {
        await pool.query(RETRY_LATER, [row.id, row.attempts, delayMs]);
        // Only the first loop sleeps until the next delivery falls due; it may have read that time
        // before this retry was set (the delivery then looked claimed for a whole visibility timeout).
        this.#signals[0]?.wake();
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
