import { setTimeout as sleep } from 'node:timers/promises';
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
import { kept, type OrderJson, type ShopClient, terminal } from '../support/shop-client.ts';

const ports = { postgres: 25395, gateway: 18580, base: 14601, grpcBase: 15601 };
const { faultSeconds, calibrationSeconds, rate: rateOverride } = chaosSettings();
const KILL_EVERY_MS = 3_000;
const CLIENTS = 8;
/** Long enough for the longest default step (payment, 60 s) and the compensations behind it. */
const SETTLE_MS = 180_000;
const victims = ['order', 'payment', 'inventory', 'payment-provider', 'gateway'] as const;
const skus = ['BOK-0001', 'BOK-0002', 'BOK-0003', 'KIT-0001', 'KIT-0002', 'APP-0001', 'APP-0002', 'ELE-0001'];
const bus = await chaosBusAvailability();

const random = seededRandom();

/**
 * The crash test: orders placed through the gateway while a random process of the order path is
 * `kill -9`-ed every 3 s (the supervisor restarts it), with the sagas' default timeouts. First, with
 * nothing killed, the shop's confirmed orders per second are measured; then half that rate is
 * offered for CHAOS_FAULT_SECONDS (100 s) while processes die. Clients retry with the same
 * Idempotency-Key until accepted, as a real client would. Asserted, from every service's records:
 * no accepted order lost, every one terminal, nothing charged twice (the provider's books and
 * payment's agree: total for confirmed, 0 for cancelled), stock conserved. Printed (and written to
 * e2e/chaos/results/orders-<bus>.json): goodput, latency and the reasons of the rest — timings on a
 * shared machine are figures, not assertions.
 */
describe.skipIf(!bus.available)(
  suiteTitle(`orders while a random order-path process is killed every ${KILL_EVERY_MS / 1000} s`, bus),
  () => {
    let platform: PlatformProcess;
    let shop: ShopClient;
    let stop: () => Promise<void>;
    let report: GoodputReport | undefined;
    const pids = new Set<number>();
    const began = Date.now();

    beforeAll(async () => {
      ({ platform, shop, stop } = await startChaosPlatform({
        name: 'chaos',
        ports,
        pids,
        environment: {
          // The sagas run with their default timeouts, resends and compensation attempts.
          PROVIDER_DECLINE_RATE: '0.1',
          // The PlaceOrder saga alone: confirmed orders are not shipped here (e2e/fulfillment covers it).
          FULFILLMENT_WORKERS: '0',
        },
      }));
    });

    afterAll(async () => {
      await stop?.();
      if (report) {
        report.wall_s = Math.round((Date.now() - began) / 1_000);
        const file = await writeReport(report);
        console.log(`orders crash test: ${report.wall_s} s wall time; report in ${file}`);
      }
    });

    it('loses no accepted order, ends every one, charges none twice and conserves stock', async () => {
      const tokens = await Promise.all(
        Array.from({ length: 4 }, (_, index) => shop.customer(`chaos-${index}-${Date.now()}@mercato.test`)),
      );

      // What this machine confirms with nothing killed, then half of it offered under faults.
      await restock(platform, ports.postgres, Math.ceil(calibrationSeconds * 5));
      const { calibration } = await measureConfirmedRate({
        shop,
        tokens,
        seconds: calibrationSeconds,
        clients: 6,
        skus,
        random: seededRandom(7),
      });
      const rate = rateOverride ?? calibration.confirmed_per_s / 2;
      const orders = Math.max(1, Math.round(rate * faultSeconds));
      // Orders of 1–3 units: stock for about what is asked, so most go through payment while
      // processes die, and a few SKUs still run out (a refusal the test checks stays consistent).
      await restock(platform, ports.postgres, Math.ceil((orders * 2) / skus.length));
      const initial = new Map<string, number>();
      for (const sku of skus) initial.set(sku, (await shop.available(sku)).available);

      // The faults, and the clients meanwhile.
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
        clients: CLIENTS,
        skus,
        random,
      });
      // The faults stop after CHAOS_FAULT_SECONDS (or when every order is in, if that is sooner);
      // stop() then waits until every victim answers again.
      await faults.stop();
      const faultsStopped = faults.stoppedAt();
      const kills = faults.kills;

      // Every accepted order reaches a terminal state (its saga finished) once the faults stop.
      const statuses = new Map<string, OrderJson>();
      const read = async (order: AcceptedOrder) => {
        for (let attempt = 0; ; attempt += 1) {
          try {
            return await shop.order(order.token, order.orderId);
          } catch (error) {
            if (attempt > 50) throw error;
            await sleep(200);
          }
        }
      };
      const finished = (order: OrderJson) =>
        terminal.has(order.status) && order.saga?.status !== 'compensating';
      const settledError = await waitFor(
        'every accepted order terminal',
        async () => {
          for (const order of accepted) {
            const known = statuses.get(order.orderId);
            if (known && finished(known)) continue;
            statuses.set(order.orderId, await read(order));
          }
          return [...statuses.values()].every(finished);
        },
        SETTLE_MS,
        500,
      ).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      const settledMs = Date.now() - faultsStopped;
      const stuck = [...statuses.values()].filter((order) => !finished(order));
      if (settledError) {
        console.log(`${stuck.length} orders not terminal:`, JSON.stringify(stuck.slice(0, 5), null, 1));
        for (const order of stuck.slice(0, 3))
          console.log(JSON.stringify(await shop.admin('order', `/admin/sagas/${order.saga?.id}`), null, 1));
      }

      // The books: the provider's, and payment's own, for every order.
      const ledger = (await shop.admin('payment-provider', '/admin/ledger')) as {
        orders: { order_id: string; captured: number; refunded: number; net: number; intents: number }[];
      };
      const books = new Map(ledger.orders.map((row) => [row.order_id, row]));
      const wrongCharge: string[] = [];
      const disagreeing: string[] = [];
      const committed = new Map<string, number>();
      for (const order of accepted) {
        const final = statuses.get(order.orderId);
        if (!final) continue;
        const net = books.get(order.orderId)?.net ?? 0;
        const expected = kept.has(final.status) ? final.total_minor : 0;
        if (net !== expected)
          wrongCharge.push(`${order.orderId} ${final.status} net ${net} expected ${expected}`);
        const payment = await shop.payment(order.orderId);
        const recorded = payment ? Number(payment.capturedMinor - payment.refundedMinor) : 0;
        if (recorded !== net) disagreeing.push(`${order.orderId} payment ${recorded} provider ${net}`);
        if (kept.has(final.status))
          for (const line of order.lines)
            committed.set(line.sku, (committed.get(line.sku) ?? 0) + line.quantity);
      }
      const stock: {
        sku: string;
        initial: number;
        committed: number;
        reserved: number;
        available: number;
      }[] = [];
      for (const sku of skus) {
        const now = await shop.available(sku);
        stock.push({ sku, initial: initial.get(sku) ?? 0, committed: committed.get(sku) ?? 0, ...now });
      }
      const stockOff = stock.filter(
        (row) =>
          row.available < 0 ||
          row.reserved !== 0 ||
          row.initial - row.committed - row.reserved !== row.available,
      );
      const refusedWith4xx = refusedForGood(refused);

      report = goodputReport({
        test: 'orders',
        goal: 'confirmed',
        calibration,
        offeredPerSecond: rate,
        faultSeconds,
        killEveryMs: KILL_EVERY_MS,
        kills: faults.counts(),
        offered: offeredOrders(accepted, refused, (orderId) => statuses.get(orderId)),
        clientRetries: retries,
        faultsStoppedAt: faultsStopped,
        settledAfterFaultsMs: settledError ? null : settledMs,
        safety: {
          lost: accepted.length - statuses.size,
          not_terminal: stuck.length,
          wrong_net_charge: wrongCharge.length,
          payment_disagrees_with_provider: disagreeing.length,
          stock_not_conserved: stockOff.length,
          refused_with_4xx: refusedWith4xx.length,
        },
      });
      // The order's `saga`: PlaceOrder's, or its latest cancellation's.
      await addSagaTimelines(shop, report, (orderId) => statuses.get(orderId)?.saga?.id);
      console.log(
        [
          formatReport(report),
          '  stock (sku: initial − committed − reserved = available)',
          ...stock.map(
            (row) =>
              `    ${row.sku}: ${row.initial} − ${row.committed} − ${row.reserved} = ${row.initial - row.committed - row.reserved} (available ${row.available})`,
          ),
        ].join('\n'),
      );

      expect(refusedWith4xx).toEqual([]);
      expect(new Set(accepted.map((order) => order.orderId)).size).toBe(accepted.length);
      expect(statuses.size).toBe(accepted.length);
      expect(stuck.map((order) => `${order.order_id} ${order.status} ${order.saga?.status}`)).toEqual([]);
      expect(settledError).toBeUndefined();
      expect(kills.length).toBeGreaterThan(0);
      expect(wrongCharge).toEqual([]);
      expect(disagreeing).toEqual([]);
      for (const row of stock) {
        expect(row.available, row.sku).toBeGreaterThanOrEqual(0);
        expect(row.reserved, row.sku).toBe(0);
        expect(row.initial - row.committed - row.reserved, row.sku).toBe(row.available);
      }
    });
  },
);
