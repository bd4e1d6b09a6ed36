import type { EventSchemas, NewEvent, SnapshotSchema, StoredEvent } from '@mercato/chassis';
import type { Order } from '../../domain/order.ts';
import type { OrderEvent } from '../../domain/order-events.ts';

/**
 * Order events as the event store keeps them: the domain event's fields as JSON (dates as RFC 3339),
 * its type as the stream's event type, at its type's current schema version (the store stamps it).
 */
export const encodeOrderEvent = (event: OrderEvent, eventId: string): NewEvent => {
  const { type, ...data } = event;
  return { eventId, type, data: { ...data, at: event.at.toISOString() } };
};

/**
 * The schema version of each order event's data and the upcasters that bring older versions up to
 * it, step by step; a type not listed is at 1. OrderPlaced 2 added `discountMinor` (1 → 2: 0).
 * An event at a version newer than these (a newer release wrote it) is refused on read.
 */
export const orderUpcasters: EventSchemas = {
  OrderPlaced: {
    version: 2,
    upcasters: [{ from: 1, to: 2, upcast: (data) => ({ discountMinor: 0, ...data }) }],
  },
};

/**
 * The shape of an order snapshot: the `Order` as JSON (dates as strings). 1 is the first versioned
 * shape; snapshots saved before versions (their shape unknown, perhaps without `discountMinor`) are
 * not loaded but replayed. Change the shape: raise the version, add an upcaster from the last one
 * (or none: older snapshots are then replayed).
 */
export const ORDER_SNAPSHOT: SnapshotSchema = { version: 1 };

export const decodeOrderEvent = (stored: StoredEvent): OrderEvent =>
  ({ ...stored.data, type: stored.type, at: new Date(String(stored.data.at)) }) as unknown as OrderEvent;

/** A snapshot keeps dates as strings; the loaded order has Dates again. */
export const reviveOrder = (order: Order | undefined): Order | undefined =>
  order && { ...order, placedAt: new Date(order.placedAt), updatedAt: new Date(order.updatedAt) };
