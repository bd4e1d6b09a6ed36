import { defineSaga, type SagaCommand, type SagaDefinition } from '@mercato/chassis';
import {
  commitStock,
  FULFILLMENT_COMMANDS,
  holdShipment,
  INVENTORY_COMMANDS,
  PAYMENT_COMMANDS,
  refundPayment,
  releaseShipment,
  releaseStock,
  reserveStock,
  takePayment,
} from '@mercato/contracts';

/** What a saga of an order carries from step to step (stored as JSON with its state). */
export interface OrderSagaData {
  orderId: string;
  customerId: string;
  lines: { sku: string; quantity: number }[];
  totalMinor: number;
  currency: string;
  reservationId: string;
  paymentId?: string;
}

export const placeOrderSagaId = (orderId: string) => `${orderId}.place`;
/** Each cancellation of an order is a saga of its own: one that ended without effect blocks no later one. */
export const cancelOrderSagaId = (orderId: string, attempt: number) => `${orderId}.cancel.${attempt}`;
/** Which saga a saga id names (`<order>.cancel` is how cancel sagas were named before they were counted). */
export const isCancelOrderSagaId = (sagaId: string) => /\.cancel(\.\d+)?$/.test(sagaId);

/** How long a customer would wait for each step (the saga's business deadlines). */
export interface StepTimeouts {
  reserveMs: number;
  paymentMs: number;
  confirmMs: number;
  holdMs: number;
}

export interface OrderSagaSettings {
  timeouts: StepTimeouts;
  maxCompensationAttempts: number;
  /** How often a step's command is resent within its timeout before it counts as timed out. */
  resends: number;
  /** The longest wait between two attempts of a step retried forward. */
  maxRetryIntervalMs: number;
}

const options = (settings: OrderSagaSettings) => ({
  maxCompensationAttempts: settings.maxCompensationAttempts,
  resends: settings.resends,
  maxRetryIntervalMs: settings.maxRetryIntervalMs,
});

const reserve = (data: OrderSagaData): SagaCommand => ({
  destination: INVENTORY_COMMANDS,
  type: reserveStock.type,
  payload: { reservation_id: data.reservationId, lines: data.lines, ttl_seconds: 0 },
});

const release = (data: OrderSagaData): SagaCommand => ({
  destination: INVENTORY_COMMANDS,
  type: releaseStock.type,
  payload: { reservation_id: data.reservationId },
});

const refund =
  (reason: string) =>
  (data: OrderSagaData): SagaCommand => ({
    destination: PAYMENT_COMMANDS,
    type: refundPayment.type,
    payload: { order_id: data.orderId, reason },
  });

/**
 * PlaceOrder, as ARCHITECTURE §5 states it: reserve stock → take payment → confirm (the reserved
 * stock is committed). Committing is the pivot: once it may have happened the order will be
 * confirmed, so it is retried forward (stuck if inventory stays away), never undone. A failure
 * before it, or a step before it that times out after its resends, compensates the steps done,
 * backwards: refund payment, release stock; the order is then cancelled (order-saga-effects.ts).
 */
export const placeOrderSaga = (settings: OrderSagaSettings): SagaDefinition<OrderSagaData> =>
  defineSaga<OrderSagaData>('place-order', options(settings))
    .step('reserve inventory')
    .invoke(reserve)
    .withCompensation(release)
    .timeout(settings.timeouts.reserveMs)
    .step('take payment')
    .invoke((data, { deadline }) => ({
      destination: PAYMENT_COMMANDS,
      type: takePayment.type,
      payload: {
        order_id: data.orderId,
        customer_id: data.customerId,
        amount_minor: data.totalMinor,
        currency: data.currency,
        expires_at: new Date(deadline).toISOString(),
      },
    }))
    .onReply((data, reply) => ({ ...data, paymentId: String(reply.payment_id ?? '') }))
    .withCompensation(refund('order_not_placed'))
    .timeout(settings.timeouts.paymentMs)
    .step('confirm order')
    .invoke((data) => ({
      destination: INVENTORY_COMMANDS,
      type: commitStock.type,
      payload: { reservation_id: data.reservationId },
    }))
    .pivot()
    .timeout(settings.timeouts.confirmMs)
    .build();

/**
 * Cancelling a confirmed order (before it ships): fulfillment holds the parcel (it never leaves; a
 * parcel already with the carrier fails the step and the cancel is refused; a hold that cannot be
 * confirmed in time is released), then the refund — the pivot: once it may have happened the hold is
 * never undone — then the committed stock goes back on the shelf, retried forward until it does.
 * A refund the provider refuses outright (nothing was refunded) releases the hold: the order goes on.
 */
export const cancelOrderSaga = (settings: OrderSagaSettings): SagaDefinition<OrderSagaData> =>
  defineSaga<OrderSagaData>('cancel-order', options(settings))
    .step('hold shipment')
    .invoke((data) => ({
      destination: FULFILLMENT_COMMANDS,
      type: holdShipment.type,
      payload: { order_id: data.orderId, reason: 'customer_request' },
    }))
    .withCompensation((data) => ({
      destination: FULFILLMENT_COMMANDS,
      type: releaseShipment.type,
      payload: { order_id: data.orderId },
    }))
    .timeout(settings.timeouts.holdMs)
    .step('refund payment')
    .invoke(refund('customer_request'))
    .pivot()
    .timeout(settings.timeouts.paymentMs)
    .step('return stock')
    .invoke(release)
    .timeout(settings.timeouts.reserveMs)
    .build();

export const sagaCommands = [
  reserveStock,
  releaseStock,
  commitStock,
  takePayment,
  refundPayment,
  holdShipment,
  releaseShipment,
] as const;
