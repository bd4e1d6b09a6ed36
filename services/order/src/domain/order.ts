import { fail, ok, type Result } from '@mercato/chassis/result';
import type { CancellationReason, OrderEvent, OrderLine, OrderPlaced } from './order-events.ts';

/** `cancel_pending`: a cancellation is under way (see `requestCancel`); it ends cancelled or confirmed. */
export type OrderStatus =
  | 'pending'
  | 'confirmed'
  | 'cancel_pending'
  | 'cancelled'
  | 'failed'
  | 'shipped'
  | 'delivered';

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
  /** How many cancellations were asked for (each runs a saga of its own). */
  cancelAttempts: number;
  /** While `cancel_pending`: what the order was when the cancel was asked for. */
  cancelFrom: 'pending' | 'confirmed' | null;
  /** Why it was cancelled (the cancellation reason), failed (in words), or a cancel was refused. */
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
  | { reason: 'already_shipped'; status: OrderStatus }
  | { reason: 'not_cancellable'; status: OrderStatus };

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

/** Orders whose parcel has not left yet, as far as order knows (a cancel may be under way). */
const notShipped = (status: OrderStatus) => status === 'confirmed' || status === 'cancel_pending';

/**
 * The customer asks to cancel an order that has not shipped: it is `cancel_pending` until its
 * cancellation ends. Asking while one is under way, or once cancelled, is no change.
 */
export function requestCancel(order: Order, now: Date): Decision {
  if (order.status === 'cancel_pending' || order.status === 'cancelled') return unchanged;
  if (order.status !== 'pending' && order.status !== 'confirmed')
    return fail({ reason: 'not_cancellable', status: order.status });
  return ok([
    { type: 'OrderCancelRequested', attempt: (order.cancelAttempts || 0) + 1, from: order.status, at: now },
  ]);
}

/**
 * The cancellation of a confirmed order could not be done: it is confirmed again, with why. An
 * order the news overtook (shipped meanwhile, or cancelled by a failed shipment) is no change; a
 * pending order's cancellation (its saga aborted) cannot be refused.
 */
export function refuseCancel(order: Order, reason: string, now: Date): Decision {
  if (order.status !== 'cancel_pending') return unchanged;
  if (order.cancelFrom !== 'confirmed') return fail({ reason: 'not_confirmed', status: order.status });
  return ok([{ type: 'OrderCancelRefused', reason, at: now }]);
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
  // A cancel under way did not stop the parcel: it left before it could be held.
  if (!notShipped(order.status)) return fail({ reason: 'not_confirmed', status: order.status });
  return ok([{ type: 'OrderShipped', shipmentId, at: now }]);
}

/**
 * The parcel arrived. Heard before its dispatch (events of two topics need not arrive in order),
 * the order is shipped and delivered at once, so its history still reads in order.
 */
export function markDelivered(order: Order, shipmentId: string, now: Date): Decision {
  if (order.status === 'delivered') return unchanged;
  if (notShipped(order.status))
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
  if (!notShipped(order.status) && order.status !== 'shipped')
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
      cancelAttempts: 0,
      cancelFrom: null,
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
    case 'OrderCancelRequested':
      return {
        ...order,
        ...at,
        status: 'cancel_pending',
        cancelAttempts: event.attempt,
        cancelFrom: event.from,
      };
    case 'OrderCancelRefused':
      return {
        ...order,
        ...at,
        status: 'confirmed',
        cancelFrom: null,
        reason: 'cancel_refused',
        reasonDetail: event.reason,
      };
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
