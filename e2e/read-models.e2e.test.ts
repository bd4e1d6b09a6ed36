import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@mercato/chassis/testing';
import { demoProducts } from '@mercato/demo-shop';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chaosBusEnvironment, seededRandom } from './support/chaos.ts';
import { isAlive, PlatformProcess } from './support/platform-process.ts';
import { platformDataDir } from './support/platform-template.ts';
import { type OrderJson, ShopClient } from './support/shop-client.ts';
import { purgeShopStreams } from './support/shop-streams.ts';
import { SseClient } from './support/sse-client.ts';

// Ports of their own, so the suite runs beside a developer's `npm start` and the other e2e suites.
const ports = { postgres: 25389, gateway: 18380, base: 14301, grpcBase: 15301 };
const gateway = `http://127.0.0.1:${ports.gateway}`;
const ORDERS = Number(process.env.READ_MODELS_E2E_ORDERS ?? 240);
// Forty products with stock in both warehouses: enough that a few hundred orders do not sell out.
const skus = demoProducts
  .filter((product) => Object.values(product.stock).every((units) => units >= 10))
  .slice(0, 40)
  .map((product) => product.sku);
const finished = new Set(['delivered', 'cancelled', 'failed']);

interface Summary {
  order_id: string;
  status: string;
  total_minor: number;
  reason: string | null;
  reason_detail: string | null;
  payment_status: string;
  shipment_status: string;
  order_version: number;
}

interface Generation {
  generation: number;
  status: string;
  compared_rows: number | null;
  differences: number | null;
  events_applied: number;
}

/**
 * The query side as a client meets it: order-view and analytics built only from events agree with
 * the order service after a few hundred orders of mixed outcomes; the dashboard composes all its
 * parts; a rebuild under live traffic fails no request and ends equal to the copy it replaced;
 * SSE shows every status change of an order in order, across a gateway restart.
 */
describe('read models and live order streams', () => {
  let dataDir = '';
  let platform: PlatformProcess;
  let shop: ShopClient;
  const customers: Array<{ email: string; token: string; orders: string[] }> = [];
  const stragglers: number[] = [];
  let keys = 0;

  const get = async <T>(token: string, route: string) => {
    const response = await fetch(`${gateway}${route}`, { headers: { authorization: `Bearer ${token}` } });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as T,
    };
  };
  const myOrders = async (token: string): Promise<Summary[]> => {
    const all: Summary[] = [];
    let pageToken: string | null = null;
    do {
      const query: string = pageToken ? `&page_token=${encodeURIComponent(pageToken)}` : '';
      const { status, body } = await get<{ orders: Summary[]; next_page_token: string | null }>(
        token,
        `/api/orders?page_size=50${query}`,
      );
      expect(status).toBe(200);
      all.push(...body.orders);
      pageToken = body.next_page_token;
    } while (pageToken);
    return all;
  };
  /** The caller's orders consistent with `orderId` at `version` or later: 200, or a problem. */
  const readOwnWrite = (token: string, orderId: string, version = 1) =>
    get<{ orders?: Summary[]; code?: string; detail?: string; retryable?: boolean }>(
      token,
      `/api/orders?order_id=${orderId}&min_version=${version}`,
    );
  const readModel = async (service: string) =>
    (await shop.admin(service, '/admin/read-model')) as { generations: Generation[] };

  beforeAll(async () => {
    dataDir = await platformDataDir('read-models');
    // Events are kept on JetStream: start from empty streams, or the read models count an earlier run.
    if (process.env.MERCATO_BUS === 'nats')
      await purgeShopStreams(process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
    platform = new PlatformProcess(dataDir, ports, {
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
      PROVIDER_DECLINE_RATE: '0.1',
      CARRIER_FAILURE_RATE: '0.08',
      CARRIER_LOST_RATE: '0.04',
      CARRIER_DELIVERY_MS: '400',
      FULFILLMENT_TRACK_EVERY_MS: '200',
      // MERCATO_BUS=nats runs the suite on JetStream (the read models on its streams).
      ...chaosBusEnvironment(),
    });
    await platform.waitForLine(/all services ready in/, 90_000);
    const state = await platform.state();
    stragglers.push(state.supervisor_pid, ...Object.values(state.services).map((s) => s.pid ?? 0));
    shop = await ShopClient.connect(gateway, dataDir, () => platform.state());
    for (let c = 0; c < 4; c += 1) {
      const email = `read-models-${c}@mercato.test`;
      customers.push({ email, token: await shop.customer(email), orders: [] });
    }
  });

  afterAll(async () => {
    platform?.child.kill('SIGINT');
    await Promise.race([platform?.exited(), sleep(15_000)]);
    for (const pid of stragglers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  const placeOne = async (random: () => number, index: number) => {
    const customer = customers[index % customers.length];
    if (!customer) throw new Error('no customer');
    const count = 1 + Math.floor(random() * 3);
    const chosen = [
      ...new Set(Array.from({ length: count }, () => skus[Math.floor(random() * skus.length)] ?? 'BOK-0001')),
    ];
    // One order in twelve asks for more than any warehouse holds: cancelled out of stock.
    const quantity = random() < 1 / 12 ? 1_000 : 1;
    // Placed as fast as six clients can: the order service's placement limit sheds some (503 with
    // Retry-After), and these clients come back as a real one would.
    const response = await shop.placeOrderPatiently(
      customer.token,
      `read-models-${++keys}`,
      chosen.map((sku) => ({ sku, quantity })),
    );
    if (response.status !== 202)
      throw new Error(`placing an order: ${response.status} ${await response.text()}`);
    const placed = (await response.json()) as OrderJson;
    customer.orders.push(placed.order_id);
    return { customer, placed };
  };

  it(`agrees with the order service after ${ORDERS} orders of mixed outcomes; the dashboard composes every part`, async () => {
    const random = seededRandom(14);
    let next = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (next < ORDERS) await placeOne(random, next++);
      }),
    );
    // Read-your-writes: asked with the last order placed and its version, order-view answers once
    // it holds that order, waiting up to 2.5 s; later than that (a burst of orders on a loaded
    // machine) it says so with a retryable 503 ORDER_VIEW.NOT_CAUGHT_UP, and a client asks again
    // after its Retry-After. Either way, a 200 always holds the order.
    const last = customers[0]?.orders.at(-1) ?? '';
    const asked = Date.now();
    const notCaughtUp: string[] = [];
    let own = await readOwnWrite(customers[0]?.token ?? '', last);
    while (
      own.status === 503 &&
      own.body.code === 'ORDER_VIEW.NOT_CAUGHT_UP' &&
      Date.now() - asked < 30_000
    ) {
      expect(own.body.retryable).toBe(true);
      expect(own.retryAfter).toBe('1');
      notCaughtUp.push(own.body.detail ?? '');
      await sleep(Number(own.retryAfter) * 1_000);
      own = await readOwnWrite(customers[0]?.token ?? '', last);
    }
    console.log(
      `read-your-writes: ${own.status} ${Date.now() - asked} ms after the last of ${ORDERS} orders was accepted; ` +
        `${notCaughtUp.length} NOT_CAUGHT_UP answers before it${notCaughtUp.length ? ` (first: ${notCaughtUp[0]})` : ''}`,
    );
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect(own.body.orders?.some((order) => order.order_id === last)).toBe(true);
    // A version the order never reaches: after its wait, a 503 at the edge that says when to retry.
    const never = await readOwnWrite(customers[0]?.token ?? '', last, 99);
    expect(never).toMatchObject({
      status: 503,
      retryAfter: '1',
      body: { code: 'ORDER_VIEW.NOT_CAUGHT_UP', retryable: true },
    });

    const truth = new Map<string, OrderJson>();
    for (const customer of customers) {
      for (const id of customer.orders) {
        await waitFor(
          `order ${id} finished`,
          async () => {
            const order = await shop.order(customer.token, id);
            truth.set(id, order);
            return finished.has(order.status);
          },
          90_000,
          200,
        );
      }
    }
    const statuses = [...truth.values()].map((order) => order.status);
    const reasons = new Set([...truth.values()].map((order) => order.reason).filter(Boolean));
    expect(statuses.filter((status) => status === 'delivered').length).toBeGreaterThan(ORDERS / 2);
    expect(reasons).toContain('payment_declined');
    expect(reasons).toContain('stock_unavailable');
    expect(reasons).toContain('shipping_failed');

    for (const customer of customers) {
      await waitFor(
        `order-view caught up for ${customer.email}`,
        async () => {
          const listed = await myOrders(customer.token);
          return (
            listed.length === customer.orders.length &&
            listed.every((s) => s.status === truth.get(s.order_id)?.status)
          );
        },
        20_000,
        250,
      );
      for (const summary of await myOrders(customer.token)) {
        const order = truth.get(summary.order_id);
        expect(summary).toMatchObject({
          status: order?.status,
          total_minor: order?.total_minor,
          reason: order?.reason,
          reason_detail: order?.reason_detail,
          order_version: order?.version,
        });
        if (summary.reason === 'shipping_failed')
          expect(summary).toMatchObject({ payment_status: 'refunded', shipment_status: 'failed' });
        if (summary.status === 'delivered')
          expect(summary).toMatchObject({ payment_status: 'processed', shipment_status: 'delivered' });
      }
    }

    const outcomes = (await shop.admin('analytics', '/reports/saga-outcomes')) as {
      placed: number;
      pending: number;
      failed: number;
      cancelled_by_reason: Record<string, number>;
      refunds: number;
    };
    const cancelled = [...truth.values()].filter((order) => order.status === 'cancelled');
    const byReason: Record<string, number> = {};
    for (const order of cancelled) byReason[order.reason ?? ''] = (byReason[order.reason ?? ''] ?? 0) + 1;
    expect(outcomes).toMatchObject({
      placed: ORDERS,
      pending: 0,
      failed: statuses.filter((s) => s === 'failed').length,
    });
    expect(outcomes.cancelled_by_reason).toEqual(byReason);
    const sales = (await shop.admin('analytics', '/reports/sales')) as {
      days: Array<{ orders: number; revenue_minor: number }>;
    };
    const kept = [...truth.values()].filter((order) => order.status === 'delivered');
    expect(sales.days.reduce((sum, day) => sum + day.orders, 0)).toBe(kept.length);
    expect(sales.days.reduce((sum, day) => sum + day.revenue_minor, 0)).toBe(
      kept.reduce((sum, o) => sum + o.total_minor, 0),
    );
    expect((await get(customers[0]?.token ?? '', '/api/admin/reports/sales')).status).toBe(403);

    const customer = customers[1];
    const me = await get<{ id: string }>(customer?.token ?? '', '/api/customers/me');
    const dashboard = await get<{
      orders: { total: number; recent: Summary[] };
      recommendations: { items: Array<{ sku: string; reason: string }> };
      degraded: unknown[];
    }>(customer?.token ?? '', `/api/customers/${me.body.id}/dashboard`);
    expect(dashboard.status).toBe(200);
    expect(dashboard.body.degraded).toEqual([]);
    expect(dashboard.body.orders.total).toBe(customer?.orders.length);
    expect(dashboard.body.orders.recent).toHaveLength(5);
    const recommended = await get<{ items: Array<{ sku: string; reason: string }> }>(
      customer?.token ?? '',
      '/api/recommendations?limit=5',
    );
    expect(recommended.body.items.length).toBeGreaterThan(0);
    expect(recommended.body.items.some((item) => item.reason === 'bought_together')).toBe(true);
  }, 300_000);

  it('rebuilds both read models under live traffic without a failed request, equal to the copies they replace', async () => {
    const failures: string[] = [];
    let reads = 0;
    let stop = false;
    const token = customers[2]?.token ?? '';
    const reader = (async () => {
      while (!stop) {
        for (const route of ['/api/orders?page_size=20', '/api/recommendations']) {
          reads += 1;
          try {
            const response = await fetch(`${gateway}${route}`, {
              headers: { authorization: `Bearer ${token}` },
            });
            if (response.status !== 200)
              failures.push(`${route}: ${response.status} ${await response.text()}`);
          } catch (error) {
            failures.push(`${route}: ${(error as Error).message}`);
          }
        }
      }
    })();
    const random = seededRandom(41);
    let placed = 0;
    const writer = (async () => {
      while (!stop) {
        await placeOne(random, placed++).catch((error: Error) => failures.push(`placing: ${error.message}`));
        await sleep(100);
      }
    })();
    try {
      for (const service of ['order-view', 'analytics']) {
        const before = (await readModel(service)).generations.find((g) => g.status === 'live');
        await shop.admin(service, '/admin/read-model/rebuild', { method: 'POST' });
        let switched: Generation | undefined;
        await waitFor(
          `${service} switched to its rebuilt copy`,
          async () => {
            switched = (await readModel(service)).generations.find((g) => g.status === 'live');
            return switched !== undefined && switched.generation !== before?.generation;
          },
          60_000,
          250,
        );
        expect(switched?.differences).toBe(0);
        // order-view holds one row per order: every order so far, and those placed meanwhile if any landed.
        expect(switched?.compared_rows).toBeGreaterThanOrEqual(ORDERS);
        expect(switched?.events_applied).toBeGreaterThan(ORDERS * 3);
        expect(
          (await readModel(service)).generations.find((g) => g.generation === before?.generation)?.status,
        ).toBe('standby');
      }
    } finally {
      // Also on a failed expectation: the loops must not outlive this test (the next one kills the gateway).
      stop = true;
      await Promise.all([reader, writer]);
    }
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(20);
    expect(placed).toBeGreaterThan(3);
  }, 180_000);

  it('streams every status change of an order in order, resuming after a gateway restart with Last-Event-ID', async () => {
    // This order must go all the way: no decline, no refusal, no loss; slow enough to restart in.
    await shop.knobs({ decline_rate: 0 });
    await shop.carrierKnobs({ failure_rate: 0, lost_rate: 0, delivery_ms: 4_000 });
    const customer = customers[3];
    const token = customer?.token ?? '';
    const feed = await SseClient.open(`${gateway}/api/orders/live`, token);
    expect(feed.status).toBe(200);
    // The feed says where it starts before anything happens: from then on nothing is missed.
    await feed.until('the feed ready', (events) =>
      events.some((e) => e.event === 'ready' && e.id !== undefined),
    );
    const response = await shop.placeOrder(token, `read-models-live-${++keys}`, [
      { sku: skus[0] ?? 'BOK-0001', quantity: 1 },
    ]);
    const placed = (await response.json()) as OrderJson;
    const first = await SseClient.open(`${gateway}/api/orders/${placed.order_id}/live`, token);
    expect(first.status).toBe(200);
    await first.until('shipped', (events) =>
      events.some((e) => (e.data as { status: string }).status === 'shipped'),
    );
    const gatewayPid = (await platform.state()).services.gateway?.pid ?? 0;
    process.kill(gatewayPid, 'SIGKILL');
    await waitFor('the first stream cut', () => first.ended, 10_000, 50);
    await waitFor(
      'the gateway back',
      async () => {
        const pid = (await platform.state()).services.gateway?.pid;
        return (
          pid !== undefined &&
          pid !== gatewayPid &&
          (await fetch(`${gateway}/readyz`).catch(() => undefined))?.status === 200
        );
      },
      30_000,
      100,
    );
    const resumed = await SseClient.open(
      `${gateway}/api/orders/${placed.order_id}/live`,
      token,
      first.lastId,
    );
    await resumed.until('delivered', (events) =>
      events.some((e) => (e.data as { status: string }).status === 'delivered'),
    );
    const seen = [...first.events, ...resumed.events].map(
      (e) => e.data as { status: string; version: number },
    );
    expect(seen.map((change) => change.status)).toEqual(['pending', 'confirmed', 'shipped', 'delivered']);
    const versions = seen.map((change) => change.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    resumed.close();
    // The customer feed (opened before the order, through the gateway that was killed) saw the
    // start; a bad Last-Event-ID is a 400, another's order a 404.
    await feed.until('the placed order on the customer feed', (events) =>
      events.some((e) => (e.data as { order_id: string }).order_id === placed.order_id),
    );
    feed.close();
    expect((await SseClient.open(`${gateway}/api/orders/live`, token, 'not-an-id')).status).toBe(400);
    expect(
      (await SseClient.open(`${gateway}/api/orders/${placed.order_id}/live`, customers[0]?.token ?? ''))
        .status,
    ).toBe(404);
    await shop.carrierKnobs({ delivery_ms: 400 });
    await shop.knobs({ decline_rate: 0.1 });
  }, 120_000);
});
