import type { Logger, SagaChange, Transaction } from '@mercato/chassis';
import {
  cancel,
  confirm,
  evolve,
  markFailed,
  type Order,
  type OrderRejection,
  recordPayment,
  recordReservation,
  refuseCancel,
} from '../domain/order.ts';
import type { CancellationReason, OrderEvent } from '../domain/order-events.ts';
import { orderMessages } from './order-messages.ts';
import type { OrderRepository } from './order-repository.port.ts';
import type { OrderSagaData } from './order-sagas.ts';

type Decide = (order: Order) => { ok: true; value: OrderEvent[] } | { ok: false; error: OrderRejection };

/** Why a saga gave up, as the order's cancellation reason. */
export function cancellationReason(sagaReason: string | null): CancellationReason {
  const reason = sagaReason ?? '';
  if (reason === 'customer_request') return 'customer_request';
  if (reason.includes('insufficient_stock')) return 'stock_unavailable';
  if (reason.includes('payment_declined')) return 'payment_declined';
  if (reason.endsWith('timed out')) return 'step_timed_out';
  return 'step_failed';
}

/**
 * What a saga's progress means for its order, recorded in the transaction that stores the saga's
 * new state: stock reserved and payment taken are noted, a completed PlaceOrder confirms the order,
 * a compensated one cancels it with the reason, a FAILED one marks it failed. A completed
 * cancellation cancels the order; a compensated one (the parcel could not be held, or the refund
 * was refused) lifts the order's `cancel_pending` lock with why, and it goes on as confirmed.
 * When the order changes, the saga's commands and its new state go in the same statement as the
 * order's outbox append (one round trip, not three).
 */
export function orderSagaEffects(orders: OrderRepository, logger: Logger) {
  return async (
    transaction: Transaction,
    saga: 'place-order' | 'cancel-order',
    change: SagaChange<OrderSagaData>,
  ): Promise<void> => {
    const { before, after, input } = change;
    const now = new Date();
    const decisions: Decide[] = [];
    const stepAnswered = input.type === 'reply' && input.success && before?.pending?.kind === 'invoke';
    const finishedNow = (status: string) => after.status === status && before?.status !== status;
    if (saga === 'place-order') {
      if (stepAnswered && before?.pending?.step === 0)
        decisions.push((order) => recordReservation(order, after.data.reservationId, now));
      if (stepAnswered && before?.pending?.step === 1 && after.data.paymentId)
        decisions.push((order) => recordPayment(order, after.data.paymentId ?? '', now));
      if (finishedNow('completed')) decisions.push((order) => confirm(order, now));
      if (finishedNow('compensated'))
        decisions.push((order) =>
          cancel(order, cancellationReason(after.reason), now, after.reason ?? undefined),
        );
    } else {
      if (finishedNow('completed')) decisions.push((order) => cancel(order, 'customer_request', now));
      if (finishedNow('compensated'))
        decisions.push((order) => refuseCancel(order, after.reason ?? 'cancellation not done', now));
    }
    if (finishedNow('failed'))
      decisions.push((order) => markFailed(order, after.reason ?? 'saga failed', now));
    if (decisions.length === 0) return;

    const loaded = await orders.load(after.data.orderId, { transaction });
    let order = loaded.order;
    if (!order) return;
    const events: OrderEvent[] = [];
    for (const decide of decisions) {
      const decided = decide(order);
      if (!decided.ok) {
        logger.warn(
          { order_id: order.id, saga, rejection: decided.error },
          'saga step does not apply to the order as it is',
        );
        continue;
      }
      for (const event of decided.value) {
        events.push(event);
        order = evolve(order, event) as Order;
      }
    }
    await orders.append(
      transaction,
      order.id,
      loaded.version,
      events,
      [...orderMessages(order, events, change.correlationId), ...change.takeCommands()],
      change.takeSagaWrite(),
    );
  };
}
