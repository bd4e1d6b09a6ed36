import type { Logger, Transaction } from '@mercato/chassis';
import { cancelForFailedShipment, evolve, markDelivered, markShipped, type Order } from '../domain/order.ts';
import type { OrderEvent } from '../domain/order-events.ts';
import { orderMessages } from './order-messages.ts';
import type { OrderRepository } from './order-repository.port.ts';

/** What fulfillment told, as order needs it (from shipment.dispatched, .delivered, .failed). */
export type ShipmentNews =
  | { kind: 'dispatched'; orderId: string; shipmentId: string }
  | { kind: 'delivered'; orderId: string; shipmentId: string }
  | { kind: 'failed'; orderId: string; shipmentId: string; reason: string };

/**
 * The choreographed part of an order's life: fulfillment's events move it to shipped, delivered,
 * or cancelled with the carrier's reason. Events are facts that already happened elsewhere, so one
 * that no longer applies (a dispatch heard after the delivery, a failure after a cancellation) is
 * logged and dropped, never retried.
 */
export function shipmentProgress(orders: OrderRepository, logger: Logger) {
  return async (transaction: Transaction, news: ShipmentNews, correlationId: string): Promise<void> => {
    const loaded = await orders.load(news.orderId, { transaction });
    const order = loaded.order;
    if (!order) {
      logger.warn({ order_id: news.orderId, shipment: news.kind }, 'shipment event for an unknown order');
      return;
    }
    const now = new Date();
    const decided =
      news.kind === 'dispatched'
        ? markShipped(order, news.shipmentId, now)
        : news.kind === 'delivered'
          ? markDelivered(order, news.shipmentId, now)
          : cancelForFailedShipment(order, news.reason, now);
    if (!decided.ok) {
      logger.info(
        { order_id: order.id, shipment: news.kind, rejection: decided.error },
        'shipment event does not apply to the order as it is; dropped',
      );
      return;
    }
    if (decided.value.length === 0) return;
    let after: Order = order;
    for (const event of decided.value) after = evolve(after, event) as Order;
    await orders.append(
      transaction,
      order.id,
      loaded.version,
      decided.value as OrderEvent[],
      orderMessages(after, decided.value, correlationId),
    );
  };
}
