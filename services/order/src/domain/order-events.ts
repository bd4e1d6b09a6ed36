/** What happened to an order; the aggregate's state is the fold of these (see `evolve`). */
export interface OrderLine {
  sku: string;
  quantity: number;
  /** Fixed when the order is placed: integer minor units of `currency`. */
  unitPriceMinor: number;
}

export interface OrderPlaced {
  type: 'OrderPlaced';
  orderId: string;
  customerId: string;
  lines: OrderLine[];
  /** Discounts the price quote gave, already taken off `totalMinor`. */
  discountMinor: number;
  totalMinor: number;
  currency: string;
  shippingAddress: string;
  at: Date;
}

export interface InventoryReserved {
  type: 'InventoryReserved';
  reservationId: string;
  at: Date;
}

export interface PaymentAuthorized {
  type: 'PaymentAuthorized';
  paymentId: string;
  amountMinor: number;
  at: Date;
}

export interface OrderConfirmed {
  type: 'OrderConfirmed';
  at: Date;
}

export interface OrderCancelled {
  type: 'OrderCancelled';
  reason: CancellationReason;
  /** What exactly happened, in words (e.g. which step timed out). */
  detail?: string;
  at: Date;
}

/**
 * The customer asked to cancel. The order is `cancel_pending` until the cancellation is done or
 * refused: a semantic lock (FTGO's CANCEL_PENDING) that tells everyone a cancel is under way.
 * `attempt` counts the order's cancellations: each gets a saga of its own.
 */
export interface OrderCancelRequested {
  type: 'OrderCancelRequested';
  attempt: number;
  /** What the order was: a pending order's saga is aborted; a confirmed one gets a cancellation saga. */
  from: 'pending' | 'confirmed';
  at: Date;
}

/** The cancellation could not be done (e.g. the parcel had left): the order goes on as confirmed. */
export interface OrderCancelRefused {
  type: 'OrderCancelRefused';
  /** Why, in words (e.g. `hold shipment failed: already_dispatched`). */
  reason: string;
  at: Date;
}

/** Its saga could not undo a step: a person must look at the order. */
export interface OrderFailed {
  type: 'OrderFailed';
  reason: string;
  at: Date;
}

export interface OrderShipped {
  type: 'OrderShipped';
  shipmentId: string;
  at: Date;
}

export interface OrderDelivered {
  type: 'OrderDelivered';
  at: Date;
}

export type CancellationReason =
  | 'customer_request'
  | 'stock_unavailable'
  | 'payment_declined'
  | 'step_timed_out'
  | 'step_failed'
  | 'shipping_failed';

export type OrderEvent =
  | OrderPlaced
  | InventoryReserved
  | PaymentAuthorized
  | OrderConfirmed
  | OrderCancelRequested
  | OrderCancelRefused
  | OrderCancelled
  | OrderFailed
  | OrderShipped
  | OrderDelivered;
