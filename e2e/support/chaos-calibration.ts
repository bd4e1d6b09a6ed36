import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { kept, type OrderJson, type ShopClient } from './shop-client.ts';

/** What the shop confirms per second with nothing killed, measured on the platform under test. */
export interface Calibration {
  seconds: number;
  clients: number;
  orders: number;
  confirmed: number;
  confirmed_per_s: number;
  outcomes: Record<string, number>;
  /** The machine's 1-minute load average when the calibration ended: a shared machine's noise, shown. */
  load_average: number;
}

export interface CalibrationOrder {
  orderId: string;
  token: string;
  lines: { sku: string; quantity: number }[];
  final: OrderJson;
}

/**
 * A closed loop: `clients` clients each place an order, wait until its saga has finished, and place
 * the next, for `seconds`. With more clients than an order's latency needs to keep the shop busy,
 * what comes out is what this machine confirms when nothing is harmed; the faults are then offered
 * a share of it, so the test asks the same of a fast machine and a slow one.
 */
export async function measureConfirmedRate(options: {
  shop: ShopClient;
  tokens: string[];
  seconds: number;
  clients: number;
  skus: readonly string[];
  random: () => number;
}): Promise<{ calibration: Calibration; orders: CalibrationOrder[] }> {
  const { shop, tokens, skus, random } = options;
  const orders: CalibrationOrder[] = [];
  const outcomes: Record<string, number> = {};
  // One order per client first, not counted: the first calls of a fresh platform open connections
  // and compile code, which is not what the shop confirms per second.
  await Promise.all(
    Array.from({ length: options.clients }, async (_, index) => {
      const token = tokens[index % tokens.length] as string;
      const response = await shop.placeOrder(token, `warm-up-${Date.now()}-${index}`, [
        { sku: skus[index % skus.length] as string, quantity: 1 },
      ]);
      if (response.status === 202)
        await shop.settled(token, ((await response.json()) as OrderJson).order_id, 120_000);
      else await response.arrayBuffer();
    }),
  );
  const began = Date.now();
  const endAt = began + options.seconds * 1_000;
  let lastEnded = began;
  const client = async (index: number) => {
    const token = tokens[index % tokens.length] as string;
    for (let n = 0; Date.now() < endAt; n += 1) {
      const lines = [
        { sku: skus[Math.floor(random() * skus.length)] as string, quantity: 1 + Math.floor(random() * 3) },
      ];
      const response = await shop.placeOrder(token, `calibrate-${began}-${index}-${n}`, lines);
      if (response.status !== 202) {
        const label = `refused:${response.status}`;
        outcomes[label] = (outcomes[label] ?? 0) + 1;
        await response.arrayBuffer();
        await sleep(100);
        continue;
      }
      const { order_id: orderId } = (await response.json()) as OrderJson;
      const final = await shop.settled(token, orderId, 120_000);
      lastEnded = Date.now();
      orders.push({ orderId, token, lines, final });
      const label = final.reason ? `${final.status}:${final.reason}` : final.status;
      outcomes[label] = (outcomes[label] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, index) => client(index)));
  const seconds = (lastEnded - began) / 1_000;
  // Confirmed, or already further on its way (the lifecycle test ships what is confirmed).
  const confirmed = orders.filter((order) => kept.has(order.final.status)).length;
  return {
    calibration: {
      seconds,
      clients: options.clients,
      orders: orders.length,
      confirmed,
      confirmed_per_s: seconds > 0 ? confirmed / seconds : 0,
      outcomes,
      load_average: Number(loadavg()[0]?.toFixed(2)),
    },
    orders,
  };
}
