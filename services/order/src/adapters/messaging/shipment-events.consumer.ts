import type { ConsumerDefinition } from '@mercato/chassis';
import { shipmentDelivered, shipmentDispatched, shipmentFailed } from '@mercato/contracts';
import type { ShipmentNews, shipmentProgress } from '../../application/shipment-progress.ts';

/** fulfillment's events, each moving its order on (see shipment-progress.ts). */
export const shipmentEventsConsumer = (
  progress: ReturnType<typeof shipmentProgress>,
): ConsumerDefinition => ({
  group: 'order',
  kind: 'topic',
  destinations: [shipmentDispatched.type, shipmentDelivered.type, shipmentFailed.type],
  handler: async (message, transaction) => {
    const news = ((): ShipmentNews => {
      switch (message.event_type) {
        case shipmentDispatched.type: {
          const data = shipmentDispatched.schema.parse(message.data);
          return { kind: 'dispatched', orderId: data.order_id, shipmentId: data.shipment_id };
        }
        case shipmentDelivered.type: {
          const data = shipmentDelivered.schema.parse(message.data);
          return { kind: 'delivered', orderId: data.order_id, shipmentId: data.shipment_id };
        }
        default: {
          const data = shipmentFailed.schema.parse(message.data);
          return {
            kind: 'failed',
            orderId: data.order_id,
            shipmentId: data.shipment_id,
            reason: data.reason,
          };
        }
      }
    })();
    await progress(transaction, news, message.correlation_id);
  },
});
