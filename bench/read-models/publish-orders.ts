import type { PostgresMessageBus } from '@mercato/chassis';
import {
  createEnvelope,
  type Envelope,
  orderCancelled,
  orderConfirmed,
  orderCreated,
  orderDelivered,
  orderShipped,
  paymentProcessed,
  shipmentDelivered,
  shipmentDispatched,
} from '@mercato/contracts';

/** Customers the generated orders are spread over. */
export const CUSTOMERS = 2_000;

/** An order's life in the log: 8 events when it is delivered, 2 when it is cancelled. */
export function orderEvents(n: number): Envelope[] {
  const orderId = `ord_${n}`;
  const customerId = `cus_${n % CUSTOMERS}`;
  const base = { order_id: orderId, customer_id: customerId };
  const lines = [{ sku: `SKU-${n % 97}`, quantity: 1 + (n % 3), unit_price_minor: 1_500 }];
  const total = lines[0] ? lines[0].quantity * 1_500 : 0;
  const at = (step: number) => new Date(Date.UTC(2026, 10, 1) + n * 1_000 + step * 10);
  const envelope = (
    contract: Parameters<typeof createEnvelope>[0]['contract'],
    data: Record<string, unknown>,
    step: number,
  ) => createEnvelope({ contract, source: 'bench', correlationId: `corr_${n}`, data, now: at(step) });
  const created = envelope(orderCreated, { ...base, lines, total_minor: total, currency: 'EUR' }, 0);
  if (n % 10 === 0)
    return [
      created,
      envelope(orderCancelled, { ...base, reason: 'stock_unavailable', reason_detail: null }, 1),
    ];
  const shipment = { ...base, shipment_id: `shp_${n}` };
  return [
    created,
    envelope(
      paymentProcessed,
      { order_id: orderId, payment_id: `pay_${n}`, amount_minor: total, currency: 'EUR' },
      1,
    ),
    envelope(
      orderConfirmed,
      {
        ...base,
        total_minor: total,
        currency: 'EUR',
        lines,
        shipping_address: 'x',
        reservation_id: `res_${n}`,
      },
      2,
    ),
    envelope(
      shipmentDispatched,
      { ...shipment, carrier_shipment_id: `cs_${n}`, tracking_number: `TRK${n}` },
      3,
    ),
    envelope(orderShipped, { ...shipment }, 4),
    envelope(shipmentDelivered, { ...shipment, delivered_at: at(5).toISOString() }, 5),
    envelope(orderDelivered, base, 6),
  ];
}

/** Publishes the events of orders `from`, `from + 1`, … until `count` events, `batch` per publish. */
export async function publishOrders(
  bus: PostgresMessageBus,
  from: number,
  count: number,
  batch: number,
): Promise<number> {
  let published = 0;
  let pending: Envelope[] = [];
  const flush = async () => {
    await bus.publish(
      pending.map((envelope) => ({
        kind: 'topic' as const,
        destination: envelope.event_type,
        key: String(envelope.data.order_id),
        envelope,
      })),
    );
    published += pending.length;
    pending = [];
  };
  for (let n = from; published + pending.length < count; n += 1) {
    pending.push(...orderEvents(n));
    if (pending.length >= batch) await flush();
  }
  if (pending.length > 0) await flush();
  return published;
}
