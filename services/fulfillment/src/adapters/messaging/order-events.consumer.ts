import type { ConsumerDefinition } from '@mercato/chassis';
import { orderCancelled, orderConfirmed } from '@mercato/contracts';
import type { Fulfillment } from '../../application/fulfillment.ts';

/** A confirmed order becomes a shipment; a cancelled one's parcel never leaves. */
export const orderEventsConsumer = (fulfillment: Fulfillment, wake: () => void): ConsumerDefinition => ({
  group: 'fulfillment',
  kind: 'topic',
  destinations: [orderConfirmed.type, orderCancelled.type],
  // A hold or cancellation waits (is retried) while the carrier is being asked about the parcel.
  maxAttempts: 30,
  backoff: { baseMs: 250, maxMs: 2_000 },
  handler: async (message, transaction) => {
    if (message.event_type === orderCancelled.type) {
      const cancelled = orderCancelled.schema.parse(message.data);
      await fulfillment.orderCancelled(transaction, cancelled.order_id, cancelled.reason);
      return;
    }
    const confirmed = orderConfirmed.schema.parse(message.data);
    await fulfillment.orderConfirmed(transaction, {
      orderId: confirmed.order_id,
      customerId: confirmed.customer_id,
      lines: confirmed.lines.map((line) => ({ sku: line.sku, quantity: line.quantity })),
      shippingAddress: confirmed.shipping_address,
      reservationId: confirmed.reservation_id,
    });
    wake();
  },
});
