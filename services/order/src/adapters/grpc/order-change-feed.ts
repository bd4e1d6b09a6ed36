import { setTimeout } from 'node:timers/promises';
import type { LogPosition, PostgresEventStore, StoredEvent } from '@mercato/chassis';
import type { OrderEvent } from '../../domain/order-events.ts';
import { decodeOrderEvent } from '../persistence/order-event-codec.ts';

export interface OrderChange {
  orderId: string;
  customerId: string;
  status: string;
  type: string;
  version: number;
  occurredAt: string;
  reason: string;
  reasonDetail: string;
  resumeAfter: string;
}

const STREAM_PREFIX = 'order-';

/** The status an event leaves its order in, for the events that change it. */
function statusAfter(event: OrderEvent): { status: string; reason?: string; detail?: string } | undefined {
  switch (event.type) {
    case 'OrderPlaced':
      return { status: 'pending' };
    case 'OrderConfirmed':
      return { status: 'confirmed' };
    case 'OrderShipped':
      return { status: 'shipped' };
    case 'OrderDelivered':
      return { status: 'delivered' };
    case 'OrderCancelled':
      return { status: 'cancelled', reason: event.reason, ...(event.detail ? { detail: event.detail } : {}) };
    case 'OrderFailed':
      return { status: 'failed', reason: event.reason };
    default:
      return undefined;
  }
}

export const formatPosition = (position: LogPosition) =>
  `${position.transactionId}.${position.globalPosition}`;

/** A log position from a client, or undefined when it is not one. */
export function parsePosition(text: string): LogPosition | undefined {
  const match = /^(\d{1,20})\.(\d{1,20})$/.exec(text);
  return match?.[1] && match[2] ? { transactionId: match[1], globalPosition: match[2] } : undefined;
}

/** Waits `ms`, or less when `signal` aborts (the stream then ends). */
const sleep = (ms: number, signal: AbortSignal) =>
  setTimeout(ms, undefined, { signal }).catch(() => undefined);

/**
 * Status changes of orders, read from the event store as they are appended. One order is followed
 * through its own stream by version (gap-free, so resuming after version N misses nothing); a
 * customer's orders through the global log, gated like every log reader, from a position.
 */
export class OrderChangeFeed {
  readonly #store: PostgresEventStore;
  readonly #pollMs: number;
  /** Order id → customer id, learned from the log; an order's customer never changes. */
  readonly #customers = new Map<string, string>();

  constructor(store: PostgresEventStore, pollMs = 100) {
    this.#store = store;
    this.#pollMs = pollMs;
  }

  async *forOrder(orderId: string, afterVersion: number, signal: AbortSignal): AsyncGenerator<OrderChange> {
    let version = afterVersion;
    let customerId: string | undefined;
    while (!signal.aborted) {
      const events = await this.#store.readStream(`${STREAM_PREFIX}${orderId}`, { afterVersion: version });
      for (const stored of events) {
        const event = decodeOrderEvent(stored);
        if (event.type === 'OrderPlaced') customerId = event.customerId;
        customerId ??= await this.#customerOf(orderId);
        const change = this.#change(stored, event, orderId, customerId ?? '', String(stored.streamVersion));
        version = stored.streamVersion;
        if (change) yield change;
      }
      if (events.length === 0) await sleep(this.#pollMs, signal);
    }
  }

  /** Where a customer's stream starts: after `after`, or after the end of the log now. */
  async startOf(after: LogPosition | undefined): Promise<LogPosition> {
    return after ?? (await this.#store.head());
  }

  async *forCustomer(
    customerId: string,
    from: LogPosition,
    signal: AbortSignal,
  ): AsyncGenerator<OrderChange> {
    let position = from;
    while (!signal.aborted) {
      const events = await this.#store.readAll(position, 500);
      for (const stored of events) {
        position = stored.position;
        if (!stored.streamId.startsWith(STREAM_PREFIX)) continue;
        const orderId = stored.streamId.slice(STREAM_PREFIX.length);
        const event = decodeOrderEvent(stored);
        if (event.type === 'OrderPlaced') this.#customers.set(orderId, event.customerId);
        if ((await this.#customerOf(orderId)) !== customerId) continue;
        const change = this.#change(stored, event, orderId, customerId, formatPosition(stored.position));
        if (change) yield change;
      }
      if (events.length === 0) await sleep(this.#pollMs, signal);
    }
  }

  #change(stored: StoredEvent, event: OrderEvent, orderId: string, customerId: string, resumeAfter: string) {
    const after = statusAfter(event);
    if (!after) return undefined;
    return {
      orderId,
      customerId,
      status: after.status,
      type: event.type,
      version: stored.streamVersion,
      occurredAt: stored.recordedAt.toISOString(),
      reason: after.reason ?? '',
      reasonDetail: after.detail ?? '',
      resumeAfter,
    };
  }

  async #customerOf(orderId: string): Promise<string | undefined> {
    const known = this.#customers.get(orderId);
    if (known) return known;
    const [first] = await this.#store.readStream(`${STREAM_PREFIX}${orderId}`, { afterVersion: 0 });
    const placed = first ? decodeOrderEvent(first) : undefined;
    if (placed?.type !== 'OrderPlaced') return undefined;
    // Bounded: a long-running order service must not keep every order it ever saw.
    if (this.#customers.size >= 100_000) this.#customers.clear();
    this.#customers.set(orderId, placed.customerId);
    return placed.customerId;
  }
}
