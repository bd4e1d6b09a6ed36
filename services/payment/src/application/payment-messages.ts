import type { OutboxEntry } from '@mercato/chassis';
import { createEnvelope, paymentFailed, paymentProcessed, paymentRefunded } from '@mercato/contracts';
import type { Payment } from './payment-store.port.ts';

const source = 'payment';

/** payment's outgoing events, keyed by order so each order's are seen in order. */
export const paymentMessages = (correlationId: string, now: Date) => ({
  processed: (payment: Payment): OutboxEntry => ({
    kind: 'topic',
    destination: paymentProcessed.type,
    key: payment.orderId,
    envelope: createEnvelope({
      contract: paymentProcessed,
      source,
      correlationId,
      now,
      data: {
        order_id: payment.orderId,
        payment_id: payment.paymentId,
        amount_minor: payment.capturedMinor,
        currency: payment.currency,
      },
    }),
  }),
  failed: (orderId: string, reason: string): OutboxEntry => ({
    kind: 'topic',
    destination: paymentFailed.type,
    key: orderId,
    envelope: createEnvelope({
      contract: paymentFailed,
      source,
      correlationId,
      now,
      data: { order_id: orderId, reason },
    }),
  }),
  refunded: (orderId: string, refundId: string, amountMinor: number, currency: string): OutboxEntry => ({
    kind: 'topic',
    destination: paymentRefunded.type,
    key: orderId,
    envelope: createEnvelope({
      contract: paymentRefunded,
      source,
      correlationId,
      now,
      data: { order_id: orderId, refund_id: refundId, amount_minor: amountMinor, currency },
    }),
  }),
});
