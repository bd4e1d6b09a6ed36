import { describe, expect, it } from 'vitest';
import type { Order } from '../domain/order.ts';
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
});
