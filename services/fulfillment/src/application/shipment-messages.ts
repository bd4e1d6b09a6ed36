import type { OutboxEntry } from '@mercato/chassis';
import { createEnvelope, shipmentDelivered, shipmentDispatched, shipmentFailed } from '@mercato/contracts';
import type { Shipment } from '../domain/shipment.ts';

const source = 'fulfillment';

/** The event a shipment's new state is told by, keyed by order so an order's events keep their order. */
export function shipmentMessage(
  shipment: Shipment,
  correlationId: string,
  now: Date,
): OutboxEntry | undefined {
  const about = {
    shipment_id: shipment.id,
    order_id: shipment.orderId,
    customer_id: shipment.customerId,
  };
  const entry = (envelope: OutboxEntry['envelope']): OutboxEntry => ({
    kind: 'topic',
    destination: envelope.event_type,
    key: shipment.orderId,
    envelope,
  });
  switch (shipment.status) {
    case 'dispatched':
      return entry(
        createEnvelope({
          contract: shipmentDispatched,
          source,
          correlationId,
          now,
          data: {
            ...about,
            carrier_shipment_id: shipment.carrierShipmentId ?? '',
            tracking_number: shipment.trackingNumber ?? '',
          },
        }),
      );
    case 'delivered':
      return entry(
        createEnvelope({
          contract: shipmentDelivered,
          source,
          correlationId,
          now,
          data: { ...about, delivered_at: (shipment.deliveredAt ?? now).toISOString() },
        }),
      );
    case 'failed':
      return entry(
        createEnvelope({
          contract: shipmentFailed,
          source,
          correlationId,
          now,
          data: {
            ...about,
            reason: shipment.reason ?? 'shipping_failed',
            reservation_id: shipment.reservationId,
          },
        }),
      );
    default:
      return undefined;
  }
}
