import type { NewEvent, StoredEvent } from '@mercato/chassis';
import type { Order } from '../../domain/order.ts';
import type { OrderEvent } from '../../domain/order-events.ts';

/**
 * Order events as the event store keeps them: the domain event's fields as JSON (dates as RFC 3339),
 * its type as the stream's event type. Version 2 of OrderPlaced added `discountMinor`; version 1
 * events are upcast with a discount of 0.
 */
export const ORDER_EVENT_VERSIONS: Partial<Record<OrderEvent['type'], number>> = { OrderPlaced: 2 };

export const encodeOrderEvent = (event: OrderEvent, eventId: string): NewEvent => {
  const { type, ...data } = event;
  return {
    eventId,
    type,
    version: ORDER_EVENT_VERSIONS[type] ?? 1,
    data: { ...data, at: event.at.toISOString() },
  };
};

export const orderUpcasters = {
  OrderPlaced: (event: StoredEvent): StoredEvent =>
    event.version >= 2 ? event : { ...event, version: 2, data: { discountMinor: 0, ...event.data } },
};

export const decodeOrderEvent = (stored: StoredEvent): OrderEvent =>
  ({ ...stored.data, type: stored.type, at: new Date(String(stored.data.at)) }) as unknown as OrderEvent;

/** A snapshot keeps dates as strings; the loaded order has Dates again. */
export const reviveOrder = (order: Order | undefined): Order | undefined =>
  order && { ...order, placedAt: new Date(order.placedAt), updatedAt: new Date(order.updatedAt) };
