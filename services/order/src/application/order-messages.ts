import type { OutboxEntry } from '@mercato/chassis';
import {
  createEnvelope,
  orderCancelled,
  orderCancelRefused,
  orderCancelRequested,
  orderConfirmed,
  orderCreated,
  orderDelivered,
  orderFailed,
  orderInventoryReserved,
  orderPaymentAuthorized,
  orderShipped,
} from '@mercato/contracts';
import type { Order } from '../domain/order.ts';
import type { OrderEvent } from '../domain/order-events.ts';

const source = 'order';

/**
 * The integration events an order's domain events lead to, keyed by order to keep their order:
 * exactly one per domain event, in the same order, so that every version the order hands out
 * reaches the read side (the repository stamps each with its event's version). A new domain event
 * does not compile here until it has its message.
 */
export function orderMessages(
  order: Order,
  events: readonly OrderEvent[],
  correlationId: string,
): OutboxEntry[] {
  const entry = (envelope: OutboxEntry['envelope'], destination: string): OutboxEntry => ({
    kind: 'topic',
    destination,
    key: order.id,
    envelope,
  });
  return events.flatMap((event): OutboxEntry[] => {
    const now = event.at;
    switch (event.type) {
      case 'OrderPlaced':
        return [
          entry(
            createEnvelope({
              contract: orderCreated,
              source,
              correlationId,
              now,
              data: {
                order_id: event.orderId,
                customer_id: event.customerId,
                lines: event.lines.map((line) => ({
                  sku: line.sku,
                  quantity: line.quantity,
                  unit_price_minor: line.unitPriceMinor,
                })),
                total_minor: event.totalMinor,
                currency: event.currency,
              },
            }),
            orderCreated.type,
          ),
        ];
      case 'InventoryReserved':
        return [
          entry(
            createEnvelope({
              contract: orderInventoryReserved,
              source,
              correlationId,
              now,
              data: {
                order_id: order.id,
                customer_id: order.customerId,
                reservation_id: event.reservationId,
              },
            }),
            orderInventoryReserved.type,
          ),
        ];
      case 'PaymentAuthorized':
        return [
          entry(
            createEnvelope({
              contract: orderPaymentAuthorized,
              source,
              correlationId,
              now,
              data: {
                order_id: order.id,
                customer_id: order.customerId,
                payment_id: event.paymentId,
                amount_minor: event.amountMinor,
                currency: order.currency,
              },
            }),
            orderPaymentAuthorized.type,
          ),
        ];
      case 'OrderConfirmed':
        return [
          entry(
            createEnvelope({
              contract: orderConfirmed,
              source,
              correlationId,
              now,
              data: {
                order_id: order.id,
                customer_id: order.customerId,
                total_minor: order.totalMinor,
                currency: order.currency,
                lines: order.lines.map((line) => ({
                  sku: line.sku,
                  quantity: line.quantity,
                  unit_price_minor: line.unitPriceMinor,
                })),
                shipping_address: order.shippingAddress,
                reservation_id: order.reservationId ?? `res_${order.id}`,
              },
            }),
            orderConfirmed.type,
          ),
        ];
      case 'OrderCancelRequested':
        return [
          entry(
            createEnvelope({
              contract: orderCancelRequested,
              source,
              correlationId,
              now,
              data: {
                order_id: order.id,
                customer_id: order.customerId,
                attempt: event.attempt,
                from: event.from,
              },
            }),
            orderCancelRequested.type,
          ),
        ];
      case 'OrderCancelRefused':
        return [
          entry(
            createEnvelope({
              contract: orderCancelRefused,
              source,
              correlationId,
              now,
              data: { order_id: order.id, customer_id: order.customerId, reason: event.reason },
            }),
            orderCancelRefused.type,
          ),
        ];
      case 'OrderCancelled':
        return [
          entry(
            createEnvelope({
              contract: orderCancelled,
              source,
              correlationId,
              now,
              data: {
                order_id: order.id,
                customer_id: order.customerId,
                reason: event.reason,
                reason_detail: event.detail || null,
              },
            }),
            orderCancelled.type,
          ),
        ];
      case 'OrderFailed':
        return [
          entry(
            createEnvelope({
              contract: orderFailed,
              source,
              correlationId,
              now,
              data: { order_id: order.id, customer_id: order.customerId, reason: event.reason },
            }),
            orderFailed.type,
          ),
        ];
      case 'OrderShipped':
        return [
          entry(
            createEnvelope({
              contract: orderShipped,
              source,
              correlationId,
              now,
              data: { order_id: order.id, customer_id: order.customerId, shipment_id: event.shipmentId },
            }),
            orderShipped.type,
          ),
        ];
      case 'OrderDelivered':
        return [
          entry(
            createEnvelope({
              contract: orderDelivered,
              source,
              correlationId,
              now,
              data: { order_id: order.id, customer_id: order.customerId },
            }),
            orderDelivered.type,
          ),
        ];
      default: {
        const unpublished: never = event;
        throw new Error(`no message for order event ${JSON.stringify(unpublished)}`);
      }
    }
  });
}
