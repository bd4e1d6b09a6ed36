import type { ConsumerDefinition } from '@mercato/chassis';
import { shipmentFailed } from '@mercato/contracts';
import { type PaymentCommandDeps, refundOrder } from '../../application/payment-commands.ts';

/**
 * payment's part of the backward cascade: a shipment that failed is refunded in full, through the
 * provider with keys derived from the shipment, so a redelivered event refunds nothing twice. A
 * refund the provider refuses is retried, and dead-lettered (for a person) if it keeps refusing.
 */
export const shipmentFailedConsumer = (deps: PaymentCommandDeps): ConsumerDefinition => ({
  group: 'payment',
  kind: 'topic',
  destinations: [shipmentFailed.type],
  batchSize: 1,
  maxAttempts: 30,
  backoff: { baseMs: 250, maxMs: 2_000 },
  handler: async (message, transaction) => {
    const failed = shipmentFailed.schema.parse(message.data);
    const outcome = await refundOrder(
      deps,
      transaction,
      { orderId: failed.order_id, reason: 'shipping_failed', key: `shipment-failed:${failed.shipment_id}` },
      message.correlation_id,
    );
    if (!outcome.success) throw new Error(`refunding order ${failed.order_id} failed: ${outcome.reason}`);
  },
});
