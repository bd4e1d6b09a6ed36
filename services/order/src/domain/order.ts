import { fail, ok, type Result } from '@mercato/chassis/result';
import type { CancellationReason, OrderEvent, OrderLine, OrderPlaced } from './order-events.ts';

export type OrderStatus = 'pending' | 'confirmed' | 'cancelled' | 'failed' | 'shipped' | 'delivered';

export interface Order {
  id: string;
  customerId: string;
  status: OrderStatus;
  lines: OrderLine[];
  discountMinor: number;
  totalMinor: number;
  currency: string;
  shippingAddress: string;
  reservationId: string | null;
  paymentId: string | null;
  shipmentId: string | null;
  cancellation: CancellationReason | null;
  /** Why it was cancelled (the cancellation reason) or failed (in words). */
  reason: string | null;
  /** What the cancellation came from in detail (e.g. the carrier's reason), when told. */
  reasonDetail: string | null;
  placedAt: Date;
  updatedAt: Date;
}

export type OrderRejection =
  | { reason: 'empty_order' }
  | { reason: 'invalid_line'; sku: string }
  | { reason: 'invalid_discount' }
  | { reason: 'not_pending'; status: OrderStatus }
  | { reason: 'not_confirmed'; status: OrderStatus }
  | { reason: 'not_shipped'; status: OrderStatus }
  | { reason: 'missing_step'; step: 'inventory' | 'payment' }
  | { reason: 'already_shipped'; status: OrderStatus };

type Decision = Result<OrderEvent[], OrderRejection>;

const MAX_QUANTITY = 1_000;

/** Places an order at fixed prices; its total is computed here, never taken from the caller. */
export function placeOrder(
  input: {
    orderId: string;
    customerId: string;
    lines: OrderLine[];
    currency: string;
    shippingAddress: string;
    /** Taken off the lines' sum (integer minor units, at most that sum). */
    discountMinor?: number;
  },
  now: Date,
): Result<OrderPlaced, OrderRejection> {
  if (input.lines.length === 0) return fail({ reason: 'empty_order' });
  for (const line of input.lines) {
    const valid =
      Number.isInteger(line.quantity) &&
      line.quantity > 0 &&
      line.quantity <= MAX_QUANTITY &&
      Number.isInteger(line.unitPriceMinor) &&
      line.unitPriceMinor >= 0;
    if (!valid) return fail({ reason: 'invalid_line', sku: line.sku });
  }
  const subtotal = input.lines.reduce((sum, line) => sum + line.quantity * line.unitPriceMinor, 0);
  const discountMinor = input.discountMinor ?? 0;
  if (!Number.isInteger(discountMinor) || discountMinor < 0 || discountMinor > subtotal)
    return fail({ reason: 'invalid_discount' });
  return ok({
    type: 'OrderPlaced',
    ...input,
    lines: input.lines.map((line) => ({ ...line })),
    discountMinor,
    totalMinor: subtotal - discountMinor,
    at: now,
  });
}

/** Repeating what already happened is no change (saga replies can arrive twice). */
const unchanged: Decision = ok([]);

export function recordReservation(order: Order, reservationId: string, now: Date): Decision {
  if (order.reservationId === reservationId) return unchanged;
  if (order.status !== 'pending') return fail({ reason: 'not_pending', status: order.status });
  return ok([{ type: 'InventoryReserved', reservationId, at: now }]);
}

export function recordPayment(order: Order, paymentId: string, now: Date): Decision {
  if (order.paymentId === paymentId) return unchanged;
  if (order.status !== 'pending') return fail({ reason: 'not_pending', status: order.status });
  return ok([{ type: 'PaymentAuthorized', paymentId, amountMinor: order.totalMinor, at: now }]);
}

/** Confirms a pending order whose stock is reserved and payment taken. */
export function confirm(order: Order, now: Date): Decision {
  if (order.status === 'confirmed') return unchanged;
  if (order.status !== 'pending') return fail({ reason: 'not_pending', status: order.status });
  if (!order.reservationId) return fail({ reason: 'missing_step', step: 'inventory' });
  if (!order.paymentId) return fail({ reason: 'missing_step', step: 'payment' });
  return ok([{ type: 'OrderConfirmed', at: now }]);
}

/** Cancels an order that has not shipped; cancelling twice is no change. */
export function cancel(order: Order, reason: CancellationReason, now: Date, detail?: string): Decision {
  if (order.status === 'cancelled') return unchanged;
  if (order.status === 'shipped' || order.status === 'delivered')
    return fail({ reason: 'already_shipped', status: order.status });
  return ok([{ type: 'OrderCancelled', reason, ...(detail ? { detail } : {}), at: now }]);
}

/** Its saga could not undo what it did: the order needs a person. Failing twice is no change. */
export function markFailed(order: Order, reason: string, now: Date): Decision {
  if (order.status === 'failed') return unchanged;
  if (order.status === 'shipped' || order.status === 'delivered')
    return fail({ reason: 'already_shipped', status: order.status });
  return ok([{ type: 'OrderFailed', reason, at: now }]);
}

/** The parcel is with the carrier. Told again, or after its delivery was heard first: no change. */
export function markShipped(order: Order, shipmentId: string, now: Date): Decision {
  if (order.status === 'shipped' && order.shipmentId === shipmentId) return unchanged;
  if (order.status === 'delivered' && order.shipmentId === shipmentId) return unchanged;
  if (order.status !== 'confirmed') return fail({ reason: 'not_confirmed', status: order.status });
  return ok([{ type: 'OrderShipped', shipmentId, at: now }]);
}

/**
 * The parcel arrived. Heard before its dispatch (events of two topics need not arrive in order),
 * the order is shipped and delivered at once, so its history still reads in order.
 */
export function markDelivered(order: Order, shipmentId: string, now: Date): Decision {
  if (order.status === 'delivered') return unchanged;
  if (order.status === 'confirmed')
    return ok([
      { type: 'OrderShipped', shipmentId, at: now },
      { type: 'OrderDelivered', at: now },
    ]);
  if (order.status !== 'shipped') return fail({ reason: 'not_shipped', status: order.status });
  return ok([{ type: 'OrderDelivered', at: now }]);
}

/**
 * Its shipment failed (the carrier refused or lost the parcel): the order is cancelled with the
 * carrier's reason, whether or not the parcel had left; payment and inventory undo their parts on
 * the same event. A delivered order stays delivered.
 */
export function cancelForFailedShipment(order: Order, carrierReason: string, now: Date): Decision {
  if (order.status === 'cancelled') return unchanged;
  if (order.status !== 'confirmed' && order.status !== 'shipped')
    return fail({ reason: 'not_confirmed', status: order.status });
  return ok([{ type: 'OrderCancelled', reason: 'shipping_failed', detail: carrierReason, at: now }]);
}

/** The order after one more event; `undefined` before it was placed. */
export function evolve(order: Order | undefined, event: OrderEvent): Order | undefined {
  if (event.type === 'OrderPlaced')
    return {
      id: event.orderId,
      customerId: event.customerId,
      status: 'pending',
      lines: event.lines,
      discountMinor: event.discountMinor ?? 0,
      totalMinor: event.totalMinor,
      currency: event.currency,
      shippingAddress: event.shippingAddress,
      reservationId: null,
      paymentId: null,
      shipmentId: null,
      cancellation: null,
      reason: null,
      reasonDetail: null,
      placedAt: event.at,
      updatedAt: event.at,
    };
  if (!order) return order;
  const at = { updatedAt: event.at };
  switch (event.type) {
    case 'InventoryReserved':
      return { ...order, ...at, reservationId: event.reservationId };
    case 'PaymentAuthorized':
      return { ...order, ...at, paymentId: event.paymentId };
    case 'OrderConfirmed':
      return { ...order, ...at, status: 'confirmed' };
    case 'OrderCancelled':
      return {
        ...order,
        ...at,
        status: 'cancelled',
        cancellation: event.reason,
        reason: event.reason,
        reasonDetail: event.detail ?? null,
      };
    case 'OrderFailed':
      return { ...order, ...at, status: 'failed', reason: event.reason };
    case 'OrderShipped':
      return { ...order, ...at, status: 'shipped', shipmentId: event.shipmentId };
    case 'OrderDelivered':
      return { ...order, ...at, status: 'delivered' };
  }
}

export const isTerminal = (order: Order): boolean =>
  order.status === 'cancelled' || order.status === 'delivered';
