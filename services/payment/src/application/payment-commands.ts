import { isAppError, newId, type Outbox, type SagaOutcome, type Transaction } from '@mercato/chassis';
import type { DataOf, refundPayment, takePayment } from '@mercato/contracts';
import { paymentMessages } from './payment-messages.ts';
import type { PaymentProvider } from './payment-provider.port.ts';
import type { Payment, PaymentStore } from './payment-store.port.ts';

/** How long after a command's `expires_at` payment keeps trying a provider that is down. */
export const GIVE_UP_GRACE_MS = 5_000;

export interface PaymentCommandDeps {
  store: PaymentStore;
  provider: PaymentProvider;
  outbox: Outbox;
  now: () => Date;
}

/**
 * Takes an order's payment: authorize, then capture, each with an idempotency key derived from the
 * saga's (so a redelivered command replays the provider's first answers). The payment row stays
 * locked meanwhile. A provider that is down is retried until a grace period after the command's
 * `expires_at`; then the answer is `provider_unavailable`, which the saga, having timed the step out
 * already, ignores: it compensates the step (a refund) whatever payment answers.
 */
export async function takeOrderPayment(
  deps: PaymentCommandDeps,
  transaction: Transaction,
  command: DataOf<typeof takePayment>,
  correlationId: string,
): Promise<SagaOutcome> {
  const messages = paymentMessages(correlationId, deps.now());
  const payment = await deps.store.lockOrCreate(transaction, {
    orderId: command.order_id,
    customerId: command.customer_id,
    status: 'authorizing',
    amountMinor: command.amount_minor,
    currency: command.currency,
    reason: null,
  });
  if (payment.status !== 'authorizing') return settledOutcome(payment);
  const key = command.saga.idempotency_key;
  try {
    const authorization = await deps.provider.authorize(
      { orderId: payment.orderId, amountMinor: payment.amountMinor, currency: payment.currency },
      `${key}:authorize`,
    );
    if (authorization.outcome === 'declined') {
      await deps.store.update(transaction, { ...payment, status: 'declined', reason: authorization.code });
      await deps.outbox.append(transaction, [messages.failed(payment.orderId, 'payment_declined')]);
      return { success: false, reason: 'payment_declined' };
    }
    const captured = await deps.provider.capture(authorization.intent.id, `${key}:capture`);
    const done: Payment = {
      ...payment,
      status: 'captured',
      providerPaymentId: captured.id,
      capturedMinor: captured.amountReceived,
    };
    await deps.store.update(transaction, done);
    await deps.outbox.append(transaction, [messages.processed(done)]);
    return { success: true, result: { payment_id: done.paymentId } };
  } catch (error) {
    // Given up only well after the saga stopped waiting, so the saga has timed the step out (and
    // will refund whatever may have been charged) before this answer could read as "nothing taken".
    const expired = deps.now().getTime() >= Date.parse(command.expires_at) + GIVE_UP_GRACE_MS;
    if (!isAppError(error) || error.code !== 'PAYMENT.PROVIDER_UNAVAILABLE' || !expired) throw error;
    // A charge may still have reached the provider; the refund the saga sends next finds it there.
    await deps.store.update(transaction, { ...payment, status: 'failed', reason: 'provider_unavailable' });
    await deps.outbox.append(transaction, [messages.failed(payment.orderId, 'provider_unavailable')]);
    return { success: false, reason: 'provider_unavailable' };
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
): Promise<SagaOutcome> {
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
 * saga step's request id, or the event that asked).
 */
export async function refundOrder(
  deps: PaymentCommandDeps,
  transaction: Transaction,
  command: { orderId: string; reason: string; key: string },
  correlationId: string,
): Promise<SagaOutcome> {
  const messages = paymentMessages(correlationId, deps.now());
  const payment = await deps.store.lockOrCreate(transaction, {
    orderId: command.orderId,
    customerId: 'unknown',
    status: 'voided',
    amountMinor: 0,
    // ISO 4217's code for "no currency": nothing was ever charged under this record.
    currency: 'XXX',
    reason: command.reason,
  });
  if (payment.status === 'declined') return { success: true, result: { refunded_minor: 0 } };
  const { key } = command;
  let refunded = 0;
  let captured = 0;
  for (const intent of await deps.provider.intentsOf(command.orderId)) {
    if (intent.status === 'requires_capture') {
      await deps.provider.cancel(intent.id, `${key}:cancel:${intent.id}`);
      continue;
    }
    if (intent.status !== 'succeeded') continue;
    captured += intent.amountReceived;
    refunded += intent.amountRefunded;
    if (intent.amountReceived - intent.amountRefunded <= 0) continue;
    const result = await deps.provider.refund(intent.id, `${key}:refund:${intent.id}`);
    if (result.outcome === 'failed') return { success: false, reason: `refund_failed:${result.code}` };
    if (result.outcome === 'nothing_left') continue;
    refunded += result.amount;
    await deps.store.addRefund(transaction, command.orderId, {
      refundId: newId('ref'),
      providerRefundId: result.refundId,
      providerPaymentId: intent.id,
      amountMinor: result.amount,
      createdAt: deps.now(),
    });
    await deps.outbox.append(transaction, [
      messages.refunded(command.orderId, result.refundId, result.amount, intent.currency),
    ]);
  }
  await deps.store.update(transaction, {
    ...payment,
    status: captured > 0 ? 'refunded' : 'voided',
    capturedMinor: Math.max(payment.capturedMinor, captured),
    refundedMinor: refunded,
    reason: payment.reason ?? command.reason,
  });
  return { success: true, result: { refunded_minor: refunded } };
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
