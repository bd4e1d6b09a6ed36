import * as z from 'zod';
import { defineEvent } from '../message-contract.ts';

const shipment = {
  shipment_id: z.string().min(1),
  order_id: z.string().min(1),
  customer_id: z.string().min(1),
};

/** fulfillment → order, notification, read models: the parcel is with the carrier. */
export const shipmentDispatched = defineEvent({
  type: 'shipment.dispatched',
  version: '1.0',
  schema: z.object({
    ...shipment,
    carrier_shipment_id: z.string().min(1),
    tracking_number: z.string().min(1),
  }),
});

/** fulfillment → order, notification, read models: the carrier delivered the parcel. */
export const shipmentDelivered = defineEvent({
  type: 'shipment.delivered',
  version: '1.0',
  schema: z.object({ ...shipment, delivered_at: z.string().datetime() }),
});

/**
 * fulfillment → order, payment, inventory, notification: the order cannot be delivered (the
 * carrier refused the parcel or lost it). Each participant undoes its own part on this event alone:
 * payment refunds, inventory puts the committed stock back in its warehouse, order is cancelled.
 */
export const shipmentFailed = defineEvent({
  type: 'shipment.failed',
  version: '1.0',
  schema: z.object({
    ...shipment,
    /** The carrier's reason, e.g. `address_unserviceable`, `parcel_lost`. */
    reason: z.string().min(1),
    /** The inventory reservation the order's stock was committed under. */
    reservation_id: z.string().min(1),
  }),
});

export const shipmentEvents = [shipmentDispatched, shipmentDelivered, shipmentFailed] as const;
