import type { CallsOutHandler, ConsumerDefinition } from '@mercato/chassis';
import {
  NOTIFICATION_REQUESTS,
  notificationRequest,
  orderCancelled,
  orderConfirmed,
  paymentRefunded,
  shipmentDelivered,
  shipmentDispatched,
} from '@mercato/contracts';
import { type NotifyDeps, notify, notifySubject, type Tell } from '../../application/notify.ts';

/** Which event tells the customer what. */
function tellOf(type: string, eventId: string, data: Record<string, unknown>): Tell {
  type AboutOrder = Extract<Tell, { about: 'order' }>;
  const aboutOrder = (orderId: string, news: AboutOrder['news']): AboutOrder => ({
    eventId,
    about: 'order',
    orderId,
    news,
  });
  switch (type) {
    case orderConfirmed.type: {
      // It carries the order's customer, lines and total: no call to order for them.
      const event = orderConfirmed.schema.parse(data);
      return {
        ...aboutOrder(event.order_id, (order) => ({ kind: 'order.confirmed', order })),
        facts: {
          orderId: event.order_id,
          customerId: event.customer_id,
          lines: event.lines.map((line) => ({
            sku: line.sku,
            quantity: line.quantity,
            unitPriceMinor: line.unit_price_minor,
          })),
          totalMinor: event.total_minor,
          currency: event.currency,
        },
      };
    }
    case shipmentDispatched.type: {
      const event = shipmentDispatched.schema.parse(data);
      return aboutOrder(event.order_id, (order) => ({
        kind: 'shipment.dispatched',
        order,
        trackingNumber: event.tracking_number,
      }));
    }
    case shipmentDelivered.type: {
      const event = shipmentDelivered.schema.parse(data);
      return aboutOrder(event.order_id, (order) => ({ kind: 'shipment.delivered', order }));
    }
    case orderCancelled.type: {
      const event = orderCancelled.schema.parse(data);
      return aboutOrder(event.order_id, (order) => ({
        kind: 'order.cancelled',
        order,
        reason: event.reason,
      }));
    }
    case paymentRefunded.type: {
      const event = paymentRefunded.schema.parse(data);
      return aboutOrder(event.order_id, (order) => ({
        kind: 'payment.refunded',
        order,
        amountMinor: event.amount_minor,
      }));
    }
    default: {
      const request = notificationRequest.schema.parse(data);
      return {
        // The sender's reference, not the message id: a request sent twice is the same mail.
        eventId: `request:${request.customer_id}:${request.reference}`,
        about: 'customer',
        customerId: request.customer_id,
        ...(request.order_id ? { orderId: request.order_id } : {}),
        news: { kind: 'notification.request', subject: request.subject, text: request.text },
      };
    }
  }
}

const callsOut = (deps: NotifyDeps, leaseMs: number): CallsOutHandler => ({
  leaseMs,
  subject: (message) => notifySubject(tellOf(message.event_type, message.event_id, message.data)),
  intent: async (message) =>
    notify(deps, tellOf(message.event_type, message.event_id, message.data), message.correlation_id),
});

// Each mail waits on customer, order and the SMTP server, with no transaction open (claim, call,
// record); retried with backoff while a dependency is down, for minutes before a dead letter.
const patient = { maxAttempts: 40, backoff: { baseMs: 250, maxMs: 5_000 } };

/** The events that matter to a customer, each mailed once. */
export const customerEventsConsumer = (deps: NotifyDeps, leaseMs: number): ConsumerDefinition => ({
  group: 'notification',
  kind: 'topic',
  destinations: [
    orderConfirmed.type,
    shipmentDispatched.type,
    shipmentDelivered.type,
    orderCancelled.type,
    paymentRefunded.type,
  ],
  ...patient,
  callsOut: callsOut(deps, leaseMs),
});

/** Mails other services ask for, from the notification.requests work queue. */
export const notificationRequestsConsumer = (deps: NotifyDeps, leaseMs: number): ConsumerDefinition => ({
  group: 'notification',
  kind: 'queue',
  destinations: [NOTIFICATION_REQUESTS],
  ...patient,
  callsOut: callsOut(deps, leaseMs),
});
