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

/** The queue participants answer order's sagas on. */
export const ORDER_SAGA_REPLIES = 'order.saga-replies';

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
export const cancelOrderSagaId = (orderId: string) => `${orderId}.cancel`;

export interface StepTimeouts {
  reserveMs: number;
  paymentMs: number;
  confirmMs: number;
}

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
 * stock is committed). A failure or timeout compensates the steps done, backwards: refund payment,
 * release stock; the order is then cancelled (see order-saga-effects.ts).
 */
export const placeOrderSaga = (
  timeouts: StepTimeouts,
  maxCompensationAttempts: number,
): SagaDefinition<OrderSagaData> =>
  defineSaga<OrderSagaData>('place-order', { maxCompensationAttempts })
    .step('reserve inventory')
    .invoke(reserve)
    .withCompensation(release)
    .timeout(timeouts.reserveMs)
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
    .timeout(timeouts.paymentMs)
    .step('confirm order')
    .invoke((data) => ({
      destination: INVENTORY_COMMANDS,
      type: commitStock.type,
      payload: { reservation_id: data.reservationId },
    }))
    .timeout(timeouts.confirmMs)
    .build();

/**
 * Cancelling a confirmed order (before it ships): first fulfillment holds the parcel (it never
 * leaves; a parcel already with the carrier fails the step and the order stays as it is; a hold
 * that answers too late is released), then refund, then put the committed stock back. Both are retried by their participants until they
 * succeed; a refund the provider keeps refusing leaves the order FAILED for a person.
 */
export const cancelOrderSaga = (
  timeouts: StepTimeouts,
  maxCompensationAttempts: number,
): SagaDefinition<OrderSagaData> =>
  defineSaga<OrderSagaData>('cancel-order', { maxCompensationAttempts })
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
    .timeout(timeouts.confirmMs)
    .step('refund payment')
    .invoke(refund('customer_request'))
    .timeout(timeouts.paymentMs)
    .step('return stock')
    .invoke(release)
    .timeout(timeouts.reserveMs)
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
