import {
  AppError,
  BoundedQueue,
  type LogPosition,
  type PostgresEventStore,
  type StoredEvent,
  WakeSignal,
} from '@mercato/chassis';
import { formatOrderLogPosition } from '@mercato/contracts';
import type { OrderEvent } from '../../domain/order-events.ts';
import { decodeOrderEvent } from '../persistence/order-event-codec.ts';
import {
  comparePositions,
  type LoggedOrderEvent,
  ORDER_STREAM_PREFIX,
  type OrderLogTail,
} from './order-log-tail.ts';

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

/** How many changes may wait for a slow stream before it is ended (its client resumes). */
const QUEUE_CAPACITY = 10_000;
/** An order's stream sleeps until woken; this only bounds a sleep that no wake ends. */
const IDLE_MS = 3_600_000;

/** The status an event leaves its order in, for the events that change it. */
function statusAfter(event: OrderEvent): { status: string; reason?: string; detail?: string } | undefined {
  switch (event.type) {
    case 'OrderPlaced':
      return { status: 'pending' };
    case 'OrderConfirmed':
      return { status: 'confirmed' };
    case 'OrderCancelRequested':
      return { status: 'cancel_pending' };
    case 'OrderCancelRefused':
      // Refused only from confirmed: the order goes on as it was, and says why.
      return { status: 'confirmed', reason: event.reason };
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

const aheadOfTheLog = () =>
  new AppError({
    code: 'ORDER.BAD_RESUME_POSITION',
    kind: 'validation',
    message: 'after: the log has not reached this position; resume after a change this stream sent',
  });

/**
 * Status changes of orders, as they are appended. One order is followed through its own stream by
 * version (gap-free, so resuming after version N misses nothing), read again each time the log
 * tail sees an event of it; a customer's orders through the log tail's hand-out, from a position.
 * Nothing is read while nothing happens: the tail is woken by the event store's notifications.
 */
export class OrderChangeFeed {
  readonly #store: PostgresEventStore;
  readonly #tail: OrderLogTail;

  constructor(store: PostgresEventStore, tail: OrderLogTail) {
    this.#store = store;
    this.#tail = tail;
  }

  async *forOrder(orderId: string, afterVersion: number, signal: AbortSignal): AsyncGenerator<OrderChange> {
    const wake = new WakeSignal();
    const stop = await this.#tail.watchOrder(orderId, () => wake.wake());
    const onAbort = () => wake.wake();
    signal.addEventListener('abort', onAbort);
    let version = afterVersion;
    let customerId: string | undefined;
    try {
      while (!signal.aborted) {
        const events = await this.#store.readStream(`${ORDER_STREAM_PREFIX}${orderId}`, {
          afterVersion: version,
        });
        for (const stored of events) {
          const event = decodeOrderEvent(stored);
          if (event.type === 'OrderPlaced') customerId = event.customerId;
          customerId ??= await this.#tail.customerOf(orderId);
          const change = toChange(stored, event, orderId, customerId ?? '', String(stored.streamVersion));
          version = stored.streamVersion;
          if (change) yield change;
        }
        await wake.sleep(IDLE_MS);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      stop();
    }
  }

  /**
   * A customer's changes after `after` (a position this feed gave out), or from now on. Yields
   * first the position it starts after, then each change. A position beyond the end of the log is
   * refused: nothing was ever sent from there.
   */
  async *forCustomer(
    customerId: string,
    after: LogPosition | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<{ startedAfter: string } | { change: OrderChange }> {
    const queue = new BoundedQueue<LoggedOrderEvent>(QUEUE_CAPACITY);
    const { from: live, stop } = await this.#tail.watchCustomer(customerId, queue);
    const onAbort = () => queue.end();
    signal.addEventListener('abort', onAbort);
    try {
      if (after && comparePositions(after, live) > 0 && comparePositions(after, await this.#store.head()) > 0)
        throw aheadOfTheLog();
      let last = after ?? live;
      yield { startedAfter: formatOrderLogPosition(last) };
      // What came between `after` and where the live hand-out starts is read from the log here.
      while (comparePositions(last, live) < 0 && !signal.aborted) {
        const page = await this.#store.readAll(last, 500);
        const upToLive = page.filter((stored) => comparePositions(stored.position, live) <= 0);
        for (const stored of upToLive) {
          last = stored.position;
          if (!stored.streamId.startsWith(ORDER_STREAM_PREFIX)) continue;
          const orderId = stored.streamId.slice(ORDER_STREAM_PREFIX.length);
          if ((await this.#tail.customerOf(orderId)) !== customerId) continue;
          const change = toChange(stored, decodeOrderEvent(stored), orderId, customerId, position(stored));
          if (change) yield { change };
        }
        if (upToLive.length < page.length || page.length < 500) break;
      }
      for await (const { stored, event, orderId } of queue) {
        if (comparePositions(stored.position, last) <= 0) continue;
        last = stored.position;
        const change = toChange(stored, event, orderId, customerId, position(stored));
        if (change) yield { change };
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      stop();
    }
  }
}

const position = (stored: StoredEvent) => formatOrderLogPosition(stored.position);

function toChange(
  stored: StoredEvent,
  event: OrderEvent,
  orderId: string,
  customerId: string,
  resumeAfter: string,
): OrderChange | undefined {
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
