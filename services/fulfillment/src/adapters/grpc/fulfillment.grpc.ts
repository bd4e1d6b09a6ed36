import type { ConnectRouter } from '@connectrpc/connect';
import { notFound, parseRequest } from '@mercato/chassis';
import { FulfillmentService } from '@mercato/contracts/grpc/fulfillment';
import * as z from 'zod';
import type { Fulfillment } from '../../application/fulfillment.ts';
import type { Shipment } from '../../domain/shipment.ts';

const byOrder = z.object({ orderId: z.string().trim().min(1).max(64) });
const iso = (date: Date | null) => date?.toISOString() ?? '';

const toShipmentMessage = (shipment: Shipment) => ({
  shipmentId: shipment.id,
  orderId: shipment.orderId,
  customerId: shipment.customerId,
  status: shipment.status,
  lines: shipment.lines,
  shippingAddress: shipment.shippingAddress,
  carrierShipmentId: shipment.carrierShipmentId ?? '',
  trackingNumber: shipment.trackingNumber ?? '',
  reason: shipment.reason ?? '',
  createdAt: iso(shipment.createdAt),
  updatedAt: iso(shipment.updatedAt),
  dispatchedAt: iso(shipment.dispatchedAt),
  deliveredAt: iso(shipment.deliveredAt),
});

export const fulfillmentGrpc = (fulfillment: Fulfillment) => (router: ConnectRouter) => {
  router.service(FulfillmentService, {
    async getShipment(request) {
      const { orderId } = parseRequest(byOrder, request);
      const shipment = await fulfillment.find(orderId);
      // A tombstone (a cancellation heard before the order) is not a shipment anyone placed.
      if (!shipment || shipment.customerId === '')
        throw notFound('SHIPMENT.NOT_FOUND', `No shipment for order ${orderId}`);
      return { shipment: toShipmentMessage(shipment) };
    },
  });
};
