import type { ReadModelEvent } from '@mercato/chassis';
import {
  type DataOf,
  orderCancelled,
  orderCancelRefused,
  orderCancelRequested,
  orderConfirmed,
  orderCreated,
  orderDelivered,
  orderEvents,
  orderFailed,
  orderInventoryReserved,
  orderPaymentAuthorized,
  orderShipped,
  paymentEvents,
  paymentFailed,
  paymentProcessed,
  paymentRefunded,
  shipmentDelivered,
  shipmentDispatched,
  shipmentEvents,
  shipmentFailed,
} from '@mercato/contracts';
import type { SummaryFact } from '../../domain/order-summary.ts';

/** What order-view is built from: every order, payment and shipment event. */
export const orderViewContracts = [...orderEvents, ...paymentEvents, ...shipmentEvents] as const;

export interface Located {
  orderId: string;
  fact: SummaryFact;
  at: string;
  orderVersion: number | undefined;
}

/** What an event (validated and upcast) says about one order. */
export function factOf(event: ReadModelEvent): Located {
  const { envelope } = event;
  const data = envelope.data as Record<string, unknown> & { order_id: string };
  const version = envelope.metadata.order_version;
  const located = (fact: SummaryFact): Located => ({
    orderId: data.order_id,
    fact,
    at: envelope.timestamp,
    orderVersion: typeof version === 'number' ? version : undefined,
  });
  switch (envelope.event_type) {
    case orderCreated.type: {
      const created = data as DataOf<typeof orderCreated>;
      return located({
        type: 'placed',
        customerId: created.customer_id,
        lines: created.lines.map((line) => ({
          sku: line.sku,
          quantity: line.quantity,
          unitPriceMinor: line.unit_price_minor,
        })),
        totalMinor: created.total_minor,
        currency: created.currency,
      });
    }
    case orderInventoryReserved.type:
      return located({ type: 'inventory_reserved' });
    case orderPaymentAuthorized.type:
      return located({ type: 'payment_authorized' });
    case orderConfirmed.type:
      return located({ type: 'confirmed' });
    case orderCancelRequested.type:
      return located({ type: 'cancel_requested' });
    case orderCancelRefused.type:
      return located({ type: 'cancel_refused', reason: (data as DataOf<typeof orderCancelRefused>).reason });
    case orderShipped.type:
      return located({ type: 'shipped' });
    case orderDelivered.type:
      return located({ type: 'delivered' });
    case orderCancelled.type: {
      const cancelled = data as DataOf<typeof orderCancelled>;
      return located({ type: 'cancelled', reason: cancelled.reason, reasonDetail: cancelled.reason_detail });
    }
    case orderFailed.type:
      return located({
        type: 'failed',
        reason: (data as DataOf<typeof orderFailed>).reason,
        reasonDetail: null,
      });
    case paymentProcessed.type:
      return located({ type: 'payment_processed' });
    case paymentFailed.type:
      return located({ type: 'payment_failed', reason: (data as DataOf<typeof paymentFailed>).reason });
    case paymentRefunded.type:
      return located({
        type: 'payment_refunded',
        amountMinor: (data as DataOf<typeof paymentRefunded>).amount_minor,
      });
    case shipmentDispatched.type:
      return located({
        type: 'shipment_dispatched',
        trackingNumber: (data as DataOf<typeof shipmentDispatched>).tracking_number,
      });
    case shipmentDelivered.type:
      return located({ type: 'shipment_delivered' });
    case shipmentFailed.type:
      return located({ type: 'shipment_failed', reason: (data as DataOf<typeof shipmentFailed>).reason });
    default:
      throw new Error(`order-view does not read ${envelope.event_type}`);
  }
}
