import { waitFor } from '@mercato/chassis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AcceptedOrder,
  killRandomly,
  placeOrdersWithRetries,
  seededRandom,
  startChaosPlatform,
} from '../support/chaos.ts';
import type { PlatformProcess } from '../support/platform-process.ts';
import type { OrderJson, ShopClient } from '../support/shop-client.ts';

const ports = { postgres: 25398, gateway: 18880, base: 14901, grpcBase: 15901 };
const ORDERS = Number(process.env.CHAOS_LIFECYCLE_ORDERS ?? 150);
const RATE = Number(process.env.CHAOS_LIFECYCLE_RATE ?? 3);
const KILL_EVERY_MS = 3_000;
const victims = [
  'order',
  'payment',
  'inventory',
  'payment-provider',
  'gateway',
  'fulfillment',
  'notification',
  'carrier',
  'smtp-sink',
] as const;
const skus = ['BOK-0001', 'BOK-0002', 'BOK-0003', 'KIT-0001', 'KIT-0002', 'APP-0001', 'APP-0002', 'ELE-0001'];
const finished = new Set(['delivered', 'cancelled', 'failed']);
const random = seededRandom();

interface SinkMail {
  message_id: string | null;
  to: string[];
  headers: Record<string, string>;
}

/**
 * The crash test over an order's whole life: placed, confirmed, shipped, delivered, or cancelled
 * and refunded when payment or shipping fails, with mails at each step, while a random process of
 * that path (the sink and the carrier included) is `kill -9`-ed every 3 s. Afterwards, from every
 * service's records: every order delivered or cancelled-and-refunded, no parcel shipped for a
 * cancelled order, net charge 0 for cancelled ones, exactly one distinct Message-ID per (event,
 * customer) in the SMTP sink; the physical repeats the crashes caused are printed.
 */
describe(`${ORDERS} orders (${RATE}/s) through their whole life while a random process is killed every ${KILL_EVERY_MS / 1000} s`, () => {
  let platform: PlatformProcess;
  let shop: ShopClient;
  let stop: () => Promise<void>;
  const pids = new Set<number>();

  beforeAll(async () => {
    ({ platform, shop, stop } = await startChaosPlatform({
      name: 'chaos-lifecycle',
      ports,
      pids,
      environment: {
        // Longer than a restart plus the backlog it leaves: the mix of outcomes should be the shop's
        // (declines, carrier failures), not the test machine's.
        ORDER_RESERVE_TIMEOUT_MS: '10000',
        ORDER_PAYMENT_TIMEOUT_MS: '10000',
        ORDER_CONFIRM_TIMEOUT_MS: '10000',
        ORDER_SAGA_COMPENSATION_ATTEMPTS: '30',
        PROVIDER_DECLINE_RATE: '0.1',
        CARRIER_FAILURE_RATE: '0.1',
        CARRIER_LOST_RATE: '0.05',
        CARRIER_DELIVERY_MS: '1500',
        FULFILLMENT_TRACK_EVERY_MS: '300',
      },
    }));
  });

  afterAll(async () => {
    await stop?.();
  });

  it('ends every order delivered or cancelled-and-refunded, ships nothing cancelled, mails each event once', async () => {
    const emails = Array.from({ length: 4 }, (_, index) => `life-${index}-${Date.now()}@mercato.test`);
    const tokens = await Promise.all(emails.map((email) => shop.customer(email)));
    const initial = new Map<string, number>();
    for (const sku of skus) initial.set(sku, (await shop.available(sku)).available);

    const faults = killRandomly({ platform, victims, everyMs: KILL_EVERY_MS, random, pids });
    const { accepted, refused, retries, placingMs } = await placeOrdersWithRetries({
      shop,
      tokens,
      orders: ORDERS,
      rate: RATE,
      clients: 6,
      skus,
      random,
    });
    await faults.stop();
    const faultsStopped = Date.now();

    // Every order finishes its life: delivered, or cancelled with its charge returned.
    const finals = new Map<string, OrderJson>();
    const ledgerOf = async () => {
      const { orders } = (await shop.admin('payment-provider', '/admin/ledger')) as {
        orders: { order_id: string; net: number }[];
      };
      return new Map(orders.map((row) => [row.order_id, row.net]));
    };
    const read = (order: AcceptedOrder) => shop.order(order.token, order.orderId).catch(() => undefined);
    await waitFor(
      'every order delivered, or cancelled and refunded',
      async () => {
        for (const order of accepted) {
          const known = finals.get(order.orderId);
          if (known && finished.has(known.status)) continue;
          const now = await read(order);
          if (now) finals.set(order.orderId, now);
        }
        if (
          ![...finals.values()].every((order) => finished.has(order.status)) ||
          finals.size < accepted.length
        )
          return false;
        const nets = await ledgerOf();
        return [...finals.values()].every(
          (order) => order.status !== 'cancelled' || (nets.get(order.order_id) ?? 0) === 0,
        );
      },
      120_000,
      500,
    ).catch((error: unknown) => console.error((error as Error).message));
    const settledMs = Date.now() - faultsStopped;

    // Books: the provider's and payment's, the carrier's, the stock.
    const nets = await ledgerOf();
    const wrongCharge: string[] = [];
    const shippedCancelled: string[] = [];
    const committed = new Map<string, number>();
    for (const order of accepted) {
      const final = finals.get(order.orderId);
      if (!final) continue;
      const net = nets.get(order.orderId) ?? 0;
      const expected = final.status === 'delivered' ? final.total_minor : 0;
      if (net !== expected)
        wrongCharge.push(`${order.orderId} ${final.status} net ${net} expected ${expected}`);
      const parcels = await shop.carrierParcels(order.orderId);
      if (
        final.status === 'cancelled' &&
        parcels.some((parcel) => !['refused', 'lost'].includes(parcel.status))
      )
        shippedCancelled.push(`${order.orderId} ${final.reason}: ${JSON.stringify(parcels)}`);
      if (final.status === 'delivered')
        for (const line of order.lines)
          committed.set(line.sku, (committed.get(line.sku) ?? 0) + line.quantity);
    }
    const stock: { sku: string; expected: number; available: number; reserved: number }[] = [];
    for (const sku of skus) {
      const now = await shop.available(sku);
      stock.push({
        sku,
        expected: (initial.get(sku) ?? 0) - (committed.get(sku) ?? 0) - now.reserved,
        ...now,
      });
    }

    // Mails: each order's events mailed (delivered: confirmed, dispatched, delivered; cancelled: cancelled).
    let mails: SinkMail[] = [];
    const mailKinds = () => {
      const kinds = new Map<string, Set<string>>();
      for (const mail of mails) {
        const orderId = mail.headers['x-mercato-order-id'];
        const kind = mail.headers['x-mercato-kind'];
        if (!orderId || !kind) continue;
        kinds.set(orderId, (kinds.get(orderId) ?? new Set()).add(kind));
      }
      return kinds;
    };
    const missingMail = () => {
      const kinds = mailKinds();
      return [...finals.values()].flatMap((order) => {
        const want =
          order.status === 'delivered'
            ? ['order.confirmed', 'shipment.dispatched', 'shipment.delivered']
            : order.status === 'cancelled'
              ? ['order.cancelled']
              : [];
        const have = kinds.get(order.order_id) ?? new Set();
        return want.filter((kind) => !have.has(kind)).map((kind) => `${order.order_id} ${kind}`);
      });
    };
    await waitFor(
      'a mail for every event',
      async () => {
        mails = ((await shop.admin('smtp-sink', '/admin/mails?limit=10000')) as { mails: SinkMail[] }).mails;
        return missingMail().length === 0;
      },
      60_000,
      500,
    ).catch((error: unknown) => console.error((error as Error).message));
    const idsPerEvent = new Map<string, Set<string>>();
    for (const mail of mails) {
      const key = `${mail.headers['x-mercato-event-id']} ${mail.to.join(',')}`;
      idsPerEvent.set(key, (idsPerEvent.get(key) ?? new Set()).add(mail.message_id ?? ''));
    }
    const ambiguous = [...idsPerEvent].filter(([, ids]) => ids.size !== 1).map(([key]) => key);
    const distinct = new Set(mails.map((mail) => mail.message_id)).size;

    const byStatus: Record<string, number> = {};
    for (const order of finals.values()) {
      const label = order.reason ? `${order.status}:${order.reason_detail ?? order.reason}` : order.status;
      byStatus[label] = (byStatus[label] ?? 0) + 1;
    }
    console.log(
      [
        `lifecycle crash test (${process.env.MERCATO_BUS === 'nats' ? 'NATS JetStream' : 'PostgreSQL message store'})`,
        `  orders offered          ${ORDERS}`,
        `  accepted                ${accepted.length} (client retries ${retries}, refused ${refused.length})`,
        `  placing took            ${(placingMs / 1000).toFixed(1)} s, ${faults.kills.length} kills: ${JSON.stringify(faults.counts())}`,
        `  finished after faults   ${(settledMs / 1000).toFixed(1)} s: ${JSON.stringify(byStatus)}`,
        `  wrong net charge        ${wrongCharge.length}`,
        `  cancelled but shipped   ${shippedCancelled.length}`,
        `  mails in the sink       ${mails.length}: ${distinct} distinct Message-IDs, ${mails.length - distinct} physical repeats caused by crashes`,
        `  events with ≠1 Message-ID ${ambiguous.length}; mails missing ${missingMail().length}`,
        `  stock off               ${stock.filter((row) => row.expected !== row.available).length} SKUs`,
      ].join('\n'),
    );

    expect(refused).toEqual([]);
    expect(accepted).toHaveLength(ORDERS);
    expect(faults.kills.length).toBeGreaterThan(0);
    expect([...finals.values()].filter((order) => !finished.has(order.status))).toEqual([]);
    expect(finals.size).toBe(ORDERS);
    expect(wrongCharge).toEqual([]);
    expect(shippedCancelled).toEqual([]);
    expect(ambiguous).toEqual([]);
    expect(missingMail()).toEqual([]);
    for (const row of stock) {
      expect(row.reserved, row.sku).toBe(0);
      expect(row.available, row.sku).toBe(row.expected);
    }
  });
});
