import * as z from 'zod';
import { defineEvent } from '../message-contract.ts';

const line = z.object({
  sku: z.string().min(1),
  quantity: z.number().int().positive(),
  unit_price_minor: z.number().int().min(0),
});

/** order → read models, analytics: an order was placed (pending until its saga ends). */
export const orderCreated = defineEvent({
  type: 'order.created',
  version: '1.0',
  schema: z.object({
    order_id: z.string().min(1),
    customer_id: z.string().min(1),
    lines: z.array(line).min(1),
    total_minor: z.number().int().min(0),
    currency: z.string().regex(/^[A-Z]{3}$/),
  }),
});

/**
 * order → read models: the order's stock is reserved (its saga's first step answered). Carries,
 * like every order event, `metadata.order_version`: each version the order hands out reaches the
 * read side, so a reader waiting for its own write is never left waiting for a later event.
 */
export const orderInventoryReserved = defineEvent({
  type: 'order.inventory_reserved',
  version: '1.0',
  schema: z.object({
    order_id: z.string().min(1),
    customer_id: z.string().min(1),
    reservation_id: z.string().min(1),
  }),
});

/** order → read models: the order's payment is authorized (its saga's payment step answered). */
export const orderPaymentAuthorized = defineEvent({
  type: 'order.payment_authorized',
  version: '1.0',
  schema: z.object({
    order_id: z.string().min(1),
    customer_id: z.string().min(1),
    payment_id: z.string().min(1),
    amount_minor: z.number().int().min(0),
    currency: z.string().regex(/^[A-Z]{3}$/),
  }),
});

/**
 * order → read models: the customer asked to cancel; the order is `cancel_pending` (a semantic
 * lock) until the cancellation ends in order.cancelled or order.cancel_refused. `attempt` counts the
 * order's cancellations; `from` is what the order was.
 */
export const orderCancelRequested = defineEvent({
  type: 'order.cancel_requested',
  version: '1.0',
  schema: z.object({
    order_id: z.string().min(1),
    customer_id: z.string().min(1),
    attempt: z.number().int().min(1),
    from: z.enum(['pending', 'confirmed']),
  }),
});

/** order → read models: a cancellation could not be done (e.g. the parcel had left); the order goes on as confirmed. */
export const orderCancelRefused = defineEvent({
  type: 'order.cancel_refused',
  version: '1.0',
  schema: z.object({
    order_id: z.string().min(1),
    customer_id: z.string().min(1),
    reason: z.string().min(1),
  }),
});

/**
 * order → fulfillment, notification, read models: stock is committed and payment taken. 1.1 adds
 * what fulfillment ships (lines, address, the reservation the stock is committed under). A 1.0
 * message cannot be upcast (its lines are not in it); none was consumed before 1.1, and one still
 * in flight is dead-lettered with "no upcaster" rather than shipped empty.
 */
export const orderConfirmed = defineEvent({
  type: 'order.confirmed',
  version: '1.1',
  schema: z.object({
    order_id: z.string().min(1),
    customer_id: z.string().min(1),
    total_minor: z.number().int().min(0),
    currency: z.string().regex(/^[A-Z]{3}$/),
    lines: z.array(line).min(1),
    shipping_address: z.string().min(1),
    reservation_id: z.string().min(1),
  }),
});

/**
 * order → notification, fulfillment, read models: the order will not be fulfilled; what it did was
 * undone. 2.0 adds `reason_detail` (required, null when there is none): what the participant said,
 * e.g. the carrier's `address_unserviceable` under reason `shipping_failed`. 1.0 events stay in the
 * log and are upcast with `reason_detail: null`; they never carried one.
 */
export const orderCancelled = defineEvent({
  type: 'order.cancelled',
  version: '2.0',
  schema: z.object({
    order_id: z.string().min(1),
    customer_id: z.string().min(1),
    reason: z.string().min(1),
    reason_detail: z.string().min(1).nullable(),
  }),
  upcasters: [{ from: '1.0', to: '2.0', upcast: (data) => ({ ...data, reason_detail: null }) }],
});

/** order → operators, read models: the saga could not undo a step; a person must look at it. */
export const orderFailed = defineEvent({
  type: 'order.failed',
  version: '1.0',
  schema: z.object({
    order_id: z.string().min(1),
    customer_id: z.string().min(1),
    reason: z.string().min(1),
  }),
});

/** order → read models, analytics: the order's parcel is with the carrier (from shipment.dispatched). */
export const orderShipped = defineEvent({
  type: 'order.shipped',
  version: '1.0',
  schema: z.object({
    order_id: z.string().min(1),
    customer_id: z.string().min(1),
    shipment_id: z.string().min(1),
  }),
});

/** order → read models, analytics: the order arrived (from shipment.delivered). */
export const orderDelivered = defineEvent({
  type: 'order.delivered',
  version: '1.0',
  schema: z.object({ order_id: z.string().min(1), customer_id: z.string().min(1) }),
});

export const orderEvents = [
  orderCreated,
  orderInventoryReserved,
  orderPaymentAuthorized,
  orderConfirmed,
  orderCancelRequested,
  orderCancelRefused,
  orderCancelled,
  orderFailed,
  orderShipped,
  orderDelivered,
] as const;
