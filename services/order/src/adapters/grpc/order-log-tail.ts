import type { BoundedQueue, Logger, LogPosition, PostgresEventStore, StoredEvent } from '@mercato/chassis';
import type { OrderEvent } from '../../domain/order-events.ts';
import { decodeOrderEvent } from '../persistence/order-event-codec.ts';

export const ORDER_STREAM_PREFIX = 'order-';
const PAGE = 500;
/** A notified commit not visible yet (an older transaction still open) is looked for again after these. */
const RETRY_MS = { first: 10, max: 500 };
/** …and given up on after this long (its events may have been taken out again before commit). */
const AWAIT_LIMIT_MS = 10_000;
const CUSTOMER_CACHE = 100_000;

/** An order event as the tail read it from the log, with the order and customer it belongs to. */
export interface LoggedOrderEvent {
  stored: StoredEvent;
  event: OrderEvent;
  orderId: string;
  customerId: string;
}

/** Log positions in log order: by transaction, then by position. */
export function comparePositions(a: LogPosition, b: LogPosition): number {
  const [ta, tb] = [BigInt(a.transactionId), BigInt(b.transactionId)];
  if (ta !== tb) return ta < tb ? -1 : 1;
  const [pa, pb] = [BigInt(a.globalPosition), BigInt(b.globalPosition)];
  return pa === pb ? 0 : pa < pb ? -1 : 1;
}

/**
 * One reader of the order log per process, for every stream it serves: woken by the event
 * store's notifications (`notified`, from a LISTEN connection), it reads what was appended once
 * and hands it out, waking the streams of that order and pushing to the streams of that customer.
 * Idle streams cost nothing: no notification, no query. It follows the log only while someone
 * watches, from the end of the log as it was when the first watcher came.
 */
export class OrderLogTail {
  readonly #store: PostgresEventStore;
  readonly #logger: Logger;
  readonly #orders = new Map<string, Set<() => void>>();
  readonly #customers = new Map<string, Set<BoundedQueue<LoggedOrderEvent>>>();
  /** Order id → customer id, learned from the log; an order's customer never changes. */
  readonly #customerOf = new Map<string, string>();
  #position: LogPosition | undefined;
  #starting: Promise<LogPosition> | undefined;
  /** Bumped when following stops, so a read in flight from before is not applied after it. */
  #epoch = 0;
  #reading = false;
  #again = false;
  #awaited: { transactionId: bigint; since: number } | undefined;
  #retryMs = RETRY_MS.first;
  #retry: NodeJS.Timeout | undefined;

  constructor(store: PostgresEventStore, logger: Logger) {
    this.#store = store;
    this.#logger = logger;
  }

  /** A transaction that appended events has committed (the notification's payload is its id). */
  notified(transactionId: string): void {
    if (this.#position === undefined || (this.#orders.size === 0 && this.#customers.size === 0)) return;
    if (/^\d{1,20}$/.test(transactionId)) {
      const id = BigInt(transactionId);
      if (!this.#awaited || id > this.#awaited.transactionId)
        this.#awaited = { transactionId: id, since: Date.now() };
    }
    void this.#read();
  }

  /** The LISTEN connection came back: whatever was appended meanwhile is read now. */
  reconnected(): void {
    if (this.#position !== undefined) void this.#read();
  }

  /** Calls `wake` whenever an event of the order is read; returns how to stop. */
  async watchOrder(orderId: string, wake: () => void): Promise<() => void> {
    await this.#follow();
    const watchers = this.#orders.get(orderId) ?? new Set();
    watchers.add(wake);
    this.#orders.set(orderId, watchers);
    return () => {
      watchers.delete(wake);
      if (watchers.size === 0) this.#orders.delete(orderId);
      this.#stopWhenUnwatched();
    };
  }

  /**
   * Pushes each later event of the customer's orders to `queue`, in log order. Returns the position
   * it starts after: every event up to it was committed before, and none after it is missed.
   */
  async watchCustomer(
    customerId: string,
    queue: BoundedQueue<LoggedOrderEvent>,
  ): Promise<{ from: LogPosition; stop: () => void }> {
    const from = await this.#follow();
    const watchers = this.#customers.get(customerId) ?? new Set();
    watchers.add(queue);
    this.#customers.set(customerId, watchers);
    return {
      from,
      stop: () => {
        watchers.delete(queue);
        if (watchers.size === 0) this.#customers.delete(customerId);
        this.#stopWhenUnwatched();
      },
    };
  }

  /** The customer an order belongs to, from its OrderPlaced event. */
  async customerOf(orderId: string): Promise<string | undefined> {
    const known = this.#customerOf.get(orderId);
    if (known) return known;
    const [first] = await this.#store.readStream(`${ORDER_STREAM_PREFIX}${orderId}`, { afterVersion: 0 });
    const placed = first ? decodeOrderEvent(first) : undefined;
    if (placed?.type !== 'OrderPlaced') return undefined;
    this.#remember(orderId, placed.customerId);
    return placed.customerId;
  }

  close(): void {
    clearTimeout(this.#retry);
    for (const queues of this.#customers.values()) for (const queue of queues) queue.end();
    this.#customers.clear();
    this.#orders.clear();
    this.#stopWhenUnwatched();
  }

  /** Where the tail is now, starting it at the end of the log if nobody watched until now. */
  async #follow(): Promise<LogPosition> {
    if (this.#position) return this.#position;
    this.#starting ??= this.#store.head().then(
      (head) => {
        this.#position = head;
        this.#starting = undefined;
        return head;
      },
      (error: unknown) => {
        this.#starting = undefined;
        throw error;
      },
    );
    return this.#starting;
  }

  #stopWhenUnwatched(): void {
    if (this.#orders.size > 0 || this.#customers.size > 0) return;
    this.#position = undefined;
    this.#awaited = undefined;
    this.#epoch += 1;
    clearTimeout(this.#retry);
  }

  /** Reads everything after the tail's position and hands it out; one read at a time. */
  async #read(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    const epoch = this.#epoch;
    try {
      do {
        this.#again = false;
        for (;;) {
          const position = this.#position;
          if (!position || epoch !== this.#epoch) return;
          const page = await this.#store.readAll(position, PAGE);
          for (const stored of page) {
            if (epoch !== this.#epoch) return;
            this.#position = stored.position;
            await this.#handOut(stored);
          }
          if (page.length < PAGE) break;
        }
      } while (this.#again);
      this.#lookAgainIfAwaiting();
    } catch (error) {
      this.#logger.warn({ err: error }, 'reading the order log failed; trying again');
      this.#retrySoon();
    } finally {
      this.#reading = false;
      // A notification that came while an abandoned read (of an earlier epoch) was in flight.
      if (this.#again) void this.#read();
    }
  }

  /** A notified commit whose events are not visible yet is looked for again, backing off. */
  #lookAgainIfAwaiting(): void {
    const awaited = this.#awaited;
    const position = this.#position;
    if (!awaited || !position) return;
    if (
      BigInt(position.transactionId) >= awaited.transactionId ||
      Date.now() - awaited.since > AWAIT_LIMIT_MS
    ) {
      this.#awaited = undefined;
      this.#retryMs = RETRY_MS.first;
      return;
    }
    this.#retrySoon();
  }

  #retrySoon(): void {
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.#read(), this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MS.max);
  }

  async #handOut(stored: StoredEvent): Promise<void> {
    if (!stored.streamId.startsWith(ORDER_STREAM_PREFIX)) return;
    const orderId = stored.streamId.slice(ORDER_STREAM_PREFIX.length);
    const event = decodeOrderEvent(stored);
    if (event.type === 'OrderPlaced') this.#remember(orderId, event.customerId);
    for (const wake of this.#orders.get(orderId) ?? []) wake();
    if (this.#customers.size === 0) return;
    const customerId = await this.customerOf(orderId);
    if (!customerId) return;
    for (const queue of this.#customers.get(customerId) ?? [])
      queue.push({ stored, event, orderId, customerId });
  }

  #remember(orderId: string, customerId: string): void {
    // Bounded: a long-running order service must not keep every order it ever saw.
    if (this.#customerOf.size >= CUSTOMER_CACHE) this.#customerOf.clear();
    this.#customerOf.set(orderId, customerId);
  }
}
