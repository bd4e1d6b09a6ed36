import { type ConsumerDefinition, finishIntent } from '@mercato/chassis';
import { shipmentFailed } from '@mercato/contracts';
import { type PaymentCommandDeps, paymentSubject, refundOrder } from '../../application/payment-commands.ts';

/**
 * payment's part of the backward cascade: a shipment that failed is refunded in full, through the
 * provider with keys derived from the shipment, so a redelivered event refunds nothing twice. A
 * refund the provider refuses is retried, and dead-lettered (for a person) if it keeps refusing.
 * Claim, call, record, like the saga's commands, about the same subject (the order's payment).
 */
export const shipmentFailedConsumer = (deps: PaymentCommandDeps, leaseMs: number): ConsumerDefinition => ({
  group: 'payment',
  kind: 'topic',
  destinations: [shipmentFailed.type],
  maxAttempts: 30,
  backoff: { baseMs: 250, maxMs: 2_000 },
  callsOut: {
    leaseMs,
    subject: (message) => paymentSubject(shipmentFailed.schema.parse(message.data).order_id),
    intent: async (message, transaction) => {
      const failed = shipmentFailed.schema.parse(message.data);
      const intent = await refundOrder(
        deps,
        transaction,
        { orderId: failed.order_id, reason: 'shipping_failed', key: `shipment-failed:${failed.shipment_id}` },
        message.correlation_id,
      );
      return finishIntent(intent, transaction, async (_, outcome) => {
        if (!outcome.success) throw new Error(`refunding order ${failed.order_id} failed: ${outcome.reason}`);
      });
    },
  },
});
