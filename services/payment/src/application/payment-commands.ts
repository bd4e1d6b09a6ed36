import { type Intent, newId, type Outbox, type SagaOutcome, type Transaction } from '@mercato/chassis';
import type { DataOf, refundPayment, takePayment } from '@mercato/contracts';
import { paymentMessages } from './payment-messages.ts';
import type { PaymentProvider } from './payment-provider.port.ts';
import type { Payment, PaymentStore } from './payment-store.port.ts';
import { type Charge, chargeOrder, type Returned, returnCharges } from './provider-calls.ts';

export interface PaymentCommandDeps {
  store: PaymentStore;
  provider: PaymentProvider;
  outbox: Outbox;
  now: () => Date;
}

/**
 * What every call to the provider about an order's money is about: a refund never runs beside the
 * charge it should find (it waits for the charge to be recorded, or for its claim to expire).
 */
export const paymentSubject = (orderId: string): string => `payment:${orderId}`;

/**
 * Takes an order's payment: authorize, then capture, each with an idempotency key derived from the
 * saga's (so a repeat after a crash or a timeout replays the provider's first answers). The payment
 * row is created `authorizing` and committed before the provider is called, with no transaction
 * open during the call; the outcome is recorded afterwards in a transaction of its own. A provider
 * that is down is retried until a grace period after the command's `expires_at`; then the answer is
 * `provider_unavailable`, which the saga, having timed the step out already, ignores: it compensates
 * the step (a refund) whatever payment answers.
 */
export async function takeOrderPayment(
  deps: PaymentCommandDeps,
  transaction: Transaction,
  command: DataOf<typeof takePayment>,
  correlationId: string,
): Promise<Intent<SagaOutcome>> {
  const payment = await deps.store.lockOrCreate(transaction, {
    orderId: command.order_id,
    customerId: command.customer_id,
    status: 'authorizing',
    amountMinor: command.amount_minor,
    currency: command.currency,
    reason: null,
  });
  if (payment.status !== 'authorizing') return { settled: settledOutcome(payment) };
  return {
    call: async (signal) => {
      const charge = await chargeOrder(deps, payment, command, signal);
      return (outcome) => recordCharge(deps, outcome, payment.orderId, charge, correlationId);
    },
  };
}

async function recordCharge(
  deps: PaymentCommandDeps,
  transaction: Transaction,
  orderId: string,
  charge: Charge,
  correlationId: string,
): Promise<SagaOutcome> {
  const messages = paymentMessages(correlationId, deps.now());
  const payment = await deps.store.lock(transaction, orderId);
  // Only an attempt holding the order's claim records, so this is defensive: never overwrite an
  // outcome recorded by another path.
  if (payment.status !== 'authorizing') return settledOutcome(payment);
  switch (charge.outcome) {
    case 'declined':
      await deps.store.update(transaction, { ...payment, status: 'declined', reason: charge.code });
      await deps.outbox.append(transaction, [messages.failed(orderId, 'payment_declined')]);
      return { success: false, reason: 'payment_declined' };
    case 'gave_up':
      // A charge may still have reached the provider; the refund the saga sends next finds it there.
      await deps.store.update(transaction, { ...payment, status: 'failed', reason: 'provider_unavailable' });
      await deps.outbox.append(transaction, [messages.failed(orderId, 'provider_unavailable')]);
      return { success: false, reason: 'provider_unavailable' };
    case 'captured': {
      const done: Payment = {
        ...payment,
        status: 'captured',
        providerPaymentId: charge.intent.id,
        capturedMinor: charge.intent.amountReceived,
      };
      await deps.store.update(transaction, done);
      await deps.outbox.append(transaction, [messages.processed(done)]);
      return { success: true, result: { payment_id: done.paymentId } };
    }
  }
}

/**
 * Returns everything charged for an order, whether or not this service recorded the charge: the
 * provider is asked for every intent of the order, captured ones are refunded and authorized ones
 * cancelled. The payment is then `refunded` or `voided`, and a late take-payment command finds it
 * so and charges nothing. Each provider call's key includes the request id (an attempt of the
 * compensation), so a refund the provider refused is tried afresh on the saga's next attempt; a
 * repeat cannot refund twice, as the provider refunds only what is left.
 */
export function refundOrderPayment(
  deps: PaymentCommandDeps,
  transaction: Transaction,
  command: DataOf<typeof refundPayment>,
  correlationId: string,
): Promise<Intent<SagaOutcome>> {
  return refundOrder(
    deps,
    transaction,
    { orderId: command.order_id, reason: command.reason, key: command.saga.request_id },
    correlationId,
  );
}

/**
 * Returns whatever was charged for the order, whether or not the charge was ever recorded here.
 * `key` makes each provider call idempotent: the same key for every retry of the same request (a
 * saga step's request id, or the event that asked). The payment row exists (committed) before the
 * provider is asked, so a take-payment command that comes later finds it voided and charges nothing.
 */
export async function refundOrder(
  deps: PaymentCommandDeps,
  transaction: Transaction,
  command: { orderId: string; reason: string; key: string },
  correlationId: string,
): Promise<Intent<SagaOutcome>> {
  const payment = await deps.store.lockOrCreate(transaction, {
    orderId: command.orderId,
    customerId: 'unknown',
    status: 'voided',
    amountMinor: 0,
    // ISO 4217's code for "no currency": nothing was ever charged under this record.
    currency: 'XXX',
    reason: command.reason,
  });
  if (payment.status === 'declined') return { settled: { success: true, result: { refunded_minor: 0 } } };
  return {
    call: async (signal) => {
      const returned = await returnCharges(deps.provider, command, signal);
      return (outcome) => recordReturn(deps, outcome, command, returned, correlationId);
    },
  };
}

async function recordReturn(
  deps: PaymentCommandDeps,
  transaction: Transaction,
  command: { orderId: string; reason: string },
  returned: Returned,
  correlationId: string,
): Promise<SagaOutcome> {
  const messages = paymentMessages(correlationId, deps.now());
  const payment = await deps.store.lock(transaction, command.orderId);
  for (const refund of returned.refunds) {
    // A repeat of the same provider call replays the same refund: recorded and told once.
    const recorded = await deps.store.addRefund(transaction, command.orderId, {
      refundId: newId('ref'),
      providerRefundId: refund.refundId,
      providerPaymentId: refund.intentId,
      amountMinor: refund.amount,
      createdAt: deps.now(),
    });
    if (recorded)
      await deps.outbox.append(transaction, [
        messages.refunded(command.orderId, refund.refundId, refund.amount, refund.currency),
      ]);
  }
  if (returned.failed) return { success: false, reason: `refund_failed:${returned.failed}` };
  await deps.store.update(transaction, {
    ...payment,
    status: returned.captured > 0 ? 'refunded' : 'voided',
    capturedMinor: Math.max(payment.capturedMinor, returned.captured),
    refundedMinor: returned.refunded,
    reason: payment.reason ?? command.reason,
  });
  return { success: true, result: { refunded_minor: returned.refunded } };
}

function settledOutcome(payment: Payment): SagaOutcome {
  switch (payment.status) {
    case 'captured':
      return { success: true, result: { payment_id: payment.paymentId } };
    case 'declined':
      return { success: false, reason: 'payment_declined' };
    default:
      return { success: false, reason: `payment_${payment.status}` };
  }
}
