import { describe, expect, it } from 'vitest';
import type { Order } from '../domain/order.ts';
import type { OrderEvent } from '../domain/order-events.ts';
import { orderMessages } from './order-messages.ts';

const at = new Date('2026-11-28T10:00:00Z');
const order: Order = {
  id: 'ord_1',
  customerId: 'cus_1',
  status: 'delivered',
  lines: [{ sku: 'BOK-0001', quantity: 2, unitPriceMinor: 1900 }],
  discountMinor: 0,
  totalMinor: 3800,
  currency: 'EUR',
  shippingAddress: '1 Test Road',
  reservationId: 'res_ord_1',
  paymentId: 'pay_1',
  shipmentId: 'shp_1',
  cancellation: null,
  cancelAttempts: 0,
  cancelFrom: null,
  reason: null,
  reasonDetail: null,
  placedAt: at,
  updatedAt: at,
};

describe('order messages', () => {
  it('tells of a shipped and a delivered order as order.shipped and order.delivered, keyed by order', () => {
    const messages = orderMessages(
      order,
      [
        { type: 'OrderShipped', shipmentId: 'shp_1', at },
        { type: 'OrderDelivered', at },
      ],
      'corr_1',
    );
    expect(messages.map((message) => [message.destination, message.key, message.envelope.data])).toEqual([
      ['order.shipped', 'ord_1', { order_id: 'ord_1', customer_id: 'cus_1', shipment_id: 'shp_1' }],
      ['order.delivered', 'ord_1', { order_id: 'ord_1', customer_id: 'cus_1' }],
    ]);
  });

  it('tells of a confirmed order with what fulfillment ships', () => {
    const [message] = orderMessages(order, [{ type: 'OrderConfirmed', at }], 'corr_1');
    expect(message?.envelope.data).toEqual({
      order_id: 'ord_1',
      customer_id: 'cus_1',
      total_minor: 3800,
      currency: 'EUR',
      lines: [{ sku: 'BOK-0001', quantity: 2, unit_price_minor: 1900 }],
      shipping_address: '1 Test Road',
      reservation_id: 'res_ord_1',
    });
  });

  it('tells of every kind of order event with exactly one event message, so every version reaches the read side', () => {
    // Keyed by type: a new kind of order event does not compile here until it is listed.
    const examples: { [Type in OrderEvent['type']]: Extract<OrderEvent, { type: Type }> } = {
      OrderPlaced: {
        type: 'OrderPlaced',
        orderId: 'ord_1',
        customerId: 'cus_1',
        lines: order.lines,
        discountMinor: 0,
        totalMinor: 3800,
        currency: 'EUR',
        shippingAddress: '1 Test Road',
        at,
      },
      InventoryReserved: { type: 'InventoryReserved', reservationId: 'res_ord_1', at },
      PaymentAuthorized: { type: 'PaymentAuthorized', paymentId: 'pay_1', amountMinor: 3800, at },
      OrderConfirmed: { type: 'OrderConfirmed', at },
      OrderCancelRequested: { type: 'OrderCancelRequested', attempt: 1, from: 'confirmed', at },
      OrderCancelRefused: {
        type: 'OrderCancelRefused',
        reason: 'hold shipment failed: already_dispatched',
        at,
      },
      OrderCancelled: { type: 'OrderCancelled', reason: 'customer_request', at },
      OrderFailed: { type: 'OrderFailed', reason: 'stuck', at },
      OrderShipped: { type: 'OrderShipped', shipmentId: 'shp_1', at },
      OrderDelivered: { type: 'OrderDelivered', at },
    };
    const events = Object.values(examples);
    const messages = orderMessages(order, events, 'corr_1');
    expect(messages.map((message) => [message.kind, message.key])).toEqual(
      events.map(() => ['topic', 'ord_1']),
    );
    expect(messages.slice(1, 3).map((message) => [message.destination, message.envelope.data])).toEqual([
      ['order.inventory_reserved', { order_id: 'ord_1', customer_id: 'cus_1', reservation_id: 'res_ord_1' }],
      [
        'order.payment_authorized',
        { order_id: 'ord_1', customer_id: 'cus_1', payment_id: 'pay_1', amount_minor: 3800, currency: 'EUR' },
      ],
    ]);
    expect(messages.slice(4, 6).map((message) => [message.destination, message.envelope.data])).toEqual([
      ['order.cancel_requested', { order_id: 'ord_1', customer_id: 'cus_1', attempt: 1, from: 'confirmed' }],
      [
        'order.cancel_refused',
        { order_id: 'ord_1', customer_id: 'cus_1', reason: 'hold shipment failed: already_dispatched' },
      ],
    ]);
  });
});
