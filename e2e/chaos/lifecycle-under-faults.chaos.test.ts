import { suiteTitle, waitFor } from '@mercato/chassis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AcceptedOrder,
  chaosBusAvailability,
  chaosSettings,
  killRandomly,
  placeOrdersWithRetries,
  restock,
  seededRandom,
  startChaosPlatform,
} from '../support/chaos.ts';
import { measureConfirmedRate } from '../support/chaos-calibration.ts';
import {
  addSagaTimelines,
  formatReport,
  type GoodputReport,
  goodputReport,
  offeredOrders,
  refusedForGood,
  writeReport,
} from '../support/chaos-report.ts';
import type { PlatformProcess } from '../support/platform-process.ts';
import type { OrderJson, ShopClient } from '../support/shop-client.ts';

const ports = { postgres: 25398, gateway: 18880, base: 14901, grpcBase: 15901 };
const { faultSeconds, calibrationSeconds, rate: rateOverride } = chaosSettings();
const KILL_EVERY_MS = 3_000;
/** Long enough for the longest default step (payment, 60 s), the compensations behind it, and delivery. */
const SETTLE_MS = 180_000;
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
const bus = await chaosBusAvailability();

interface SinkMail {
  message_id: string | null;
  to: string[];
  headers: Record<string, string>;
}

/**
 * The crash test over an order's whole life: placed, confirmed, shipped, delivered, or cancelled
 * and refunded when payment or shipping fails, with mails at each step, while a random process of
 * that path (the sink and the carrier included) is `kill -9`-ed every 3 s, with the sagas' default
 * timeouts. First, with nothing killed, the shop's confirmed orders per second are measured; then
 * half that rate is offered for CHAOS_FAULT_SECONDS (100 s) while processes die. Asserted, from every
 * service's records: every order delivered or cancelled-and-refunded, no parcel shipped for an
 * order that was cancelled or refunded, net charge 0 for cancelled ones, stock conserved, exactly
 * one distinct Message-ID per (event, customer) in the SMTP sink. Printed (and written to
 * e2e/chaos/results/lifecycle-<bus>.json): goodput for `delivered`, latency, the reasons of the
 * rest, and the physical repeats the crashes caused.
 */
describe.skipIf(!bus.available)(
  suiteTitle(
    `orders through their whole life while a random process is killed every ${KILL_EVERY_MS / 1000} s`,
    bus,
  ),
  () => {
    let platform: PlatformProcess;
    let shop: ShopClient;
    let stop: () => Promise<void>;
    let report: GoodputReport | undefined;
    const pids = new Set<number>();
    const began = Date.now();

    beforeAll(async () => {
      ({ platform, shop, stop } = await startChaosPlatform({
        name: 'chaos-lifecycle',
        ports,
        pids,
        environment: {
          // The sagas run with their default timeouts, resends and compensation attempts; the
          // shop's own outcomes (declines, carrier failures) are dialled in.
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
      if (report) {
        report.wall_s = Math.round((Date.now() - began) / 1_000);
        const file = await writeReport(report);
        console.log(`lifecycle crash test: ${report.wall_s} s wall time; report in ${file}`);
      }
    });

    it('ends every order delivered or cancelled-and-refunded, ships nothing refunded, mails each event once', async () => {
      const emails = Array.from({ length: 4 }, (_, index) => `life-${index}-${Date.now()}@mercato.test`);
      const tokens = await Promise.all(emails.map((email) => shop.customer(email)));
      const read = (order: { token: string; orderId: string }) =>
        shop.order(order.token, order.orderId).catch(() => undefined);

      // What this machine confirms with nothing killed (and ships meanwhile), then half of it offered.
      await restock(platform, ports.postgres, Math.ceil(calibrationSeconds * 5));
      const { calibration, orders: calibrationOrders } = await measureConfirmedRate({
        shop,
        tokens,
        seconds: calibrationSeconds,
        clients: 6,
        skus,
        random: seededRandom(7),
      });
      // The calibration's parcels are delivered (or fail and return their stock) before stock is counted.
      await waitFor(
        "the calibration's orders at the end of their life",
        async () => {
          for (const order of calibrationOrders)
            if (!finished.has(order.final.status)) order.final = (await read(order)) ?? order.final;
          return calibrationOrders.every((order) => finished.has(order.final.status));
        },
        60_000,
        500,
      );
      const rate = rateOverride ?? calibration.confirmed_per_s / 2;
      const orders = Math.max(1, Math.round(rate * faultSeconds));
      await restock(platform, ports.postgres, Math.ceil((orders * 2) / skus.length));
      const initial = new Map<string, number>();
      for (const sku of skus) initial.set(sku, (await shop.available(sku)).available);

      const faults = killRandomly({
        platform,
        victims,
        everyMs: KILL_EVERY_MS,
        forMs: faultSeconds * 1_000,
        random,
        pids,
      });
      const { accepted, refused, retries } = await placeOrdersWithRetries({
        shop,
        tokens,
        orders,
        rate,
        clients: 6,
        skus,
        random,
      });
      await faults.stop();
      const faultsStopped = faults.stoppedAt();

      // Every order finishes its life: delivered, or cancelled with its charge returned.
      const finals = new Map<string, OrderJson>();
      const ledgerOf = async () => {
        const { orders } = (await shop.admin('payment-provider', '/admin/ledger')) as {
          orders: { order_id: string; net: number; refunded: number }[];
        };
        return new Map(orders.map((row) => [row.order_id, row]));
      };
      const settledError = await waitFor(
        'every order delivered, or cancelled and refunded',
        async () => {
          for (const order of accepted) {
            const known = finals.get(order.orderId);
            if (known && finished.has(known.status)) continue;
            const now = await read(order as AcceptedOrder);
            if (now) finals.set(order.orderId, now);
          }
          if (
            ![...finals.values()].every((order) => finished.has(order.status)) ||
            finals.size < accepted.length
          )
            return false;
          const books = await ledgerOf();
          return [...finals.values()].every(
            (order) => order.status !== 'cancelled' || (books.get(order.order_id)?.net ?? 0) === 0,
          );
        },
        SETTLE_MS,
        500,
      ).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      const settledMs = Date.now() - faultsStopped;
      if (settledError) console.error(settledError.message);

      // Books: the provider's and payment's, the carrier's, the stock.
      const books = await ledgerOf();
      const wrongCharge: string[] = [];
      const shippedRefunded: string[] = [];
      const committed = new Map<string, number>();
      for (const order of accepted) {
        const final = finals.get(order.orderId);
        if (!final) continue;
        const net = books.get(order.orderId)?.net ?? 0;
        const expected = final.status === 'delivered' ? final.total_minor : 0;
        if (net !== expected)
          wrongCharge.push(`${order.orderId} ${final.status} net ${net} expected ${expected}`);
        // No parcel goes out for an order that is not delivered or whose money went back, unless
        // the carrier refused it or lost it (a loss is what refunds it).
        const parcels = await shop.carrierParcels(order.orderId);
        const refunded = (books.get(order.orderId)?.refunded ?? 0) > 0;
        if (
          (final.status !== 'delivered' || refunded) &&
          parcels.some((parcel) => !['refused', 'lost'].includes(parcel.status))
        )
          shippedRefunded.push(
            `${order.orderId} ${final.status} ${final.reason}: ${JSON.stringify(parcels)}`,
          );
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
          mails = ((await shop.admin('smtp-sink', '/admin/mails?limit=10000')) as { mails: SinkMail[] })
            .mails;
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
      const notFinished = [...finals.values()].filter((order) => !finished.has(order.status));
      const stockOff = stock.filter((row) => row.reserved !== 0 || row.expected !== row.available);
      const refusedWith4xx = refusedForGood(refused);

      report = goodputReport({
        test: 'lifecycle',
        goal: 'delivered',
        calibration,
        offeredPerSecond: rate,
        faultSeconds,
        killEveryMs: KILL_EVERY_MS,
        kills: faults.counts(),
        offered: offeredOrders(accepted, refused, (orderId) => finals.get(orderId)),
        clientRetries: retries,
        faultsStoppedAt: faultsStopped,
        settledAfterFaultsMs: settledError ? null : settledMs,
        safety: {
          lost: accepted.length - finals.size,
          not_finished: notFinished.length,
          wrong_net_charge: wrongCharge.length,
          shipped_for_refunded_or_cancelled: shippedRefunded.length,
          stock_not_conserved: stockOff.length,
          events_with_other_than_one_message_id: ambiguous.length,
          mails_missing: missingMail().length,
          refused_with_4xx: refusedWith4xx.length,
        },
      });
      // The order's `saga`: PlaceOrder's, or its latest cancellation's.
      await addSagaTimelines(shop, report, (orderId) => finals.get(orderId)?.saga?.id);
      console.log(
        [
          formatReport(report),
          `  mails in the sink         ${mails.length}: ${distinct} distinct Message-IDs, ${mails.length - distinct} physical repeats caused by crashes`,
        ].join('\n'),
      );

      expect(refusedWith4xx).toEqual([]);
      expect(faults.kills.length).toBeGreaterThan(0);
      expect(notFinished.map((order) => `${order.order_id} ${order.status}`)).toEqual([]);
      expect(finals.size).toBe(accepted.length);
      expect(settledError).toBeUndefined();
      expect(wrongCharge).toEqual([]);
      expect(shippedRefunded).toEqual([]);
      expect(ambiguous).toEqual([]);
      expect(missingMail()).toEqual([]);
      for (const row of stock) {
        expect(row.reserved, row.sku).toBe(0);
        expect(row.available, row.sku).toBe(row.expected);
      }
    });
  },
);
