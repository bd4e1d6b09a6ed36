import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { restock } from './support/chaos.ts';
import { asksAgainWhenShed, type Outcome, shedCount, steadyLoad } from './support/edge-load.ts';
import { linesForRequests } from './support/edge-trace.ts';
import type { RegisteredInstance } from './support/platform-process.ts';
import { mercato, metricSum, served } from './support/release-cli.ts';
import { releaseLoad } from './support/release-load.ts';
import { kept, ShopClient, settledStatuses, steadyOrders } from './support/shop-client.ts';
import { suitePlatform } from './support/suite-platform.ts';

// Ports of their own, so the suite runs beside a developer's `npm start` and the other e2e suites.
const ports = { postgres: 25427, gateway: 18980, base: 14401, grpcBase: 15401 };
const gateway = `http://127.0.0.1:${ports.gateway}`;
// As the rolling release's suite: 50 reads and 2 orders a second, or MERCATO_E2E_RELEASE_LOAD.
const { readsPerSecond: READS_PER_SECOND, ordersPerSecond: ORDERS_PER_SECOND } = releaseLoad();
const failed = (outcomes: readonly Outcome[], ok: number) =>
  outcomes.filter((outcome) => outcome.status !== ok);

/** What an instance has done on its own: deliveries handled and saga timers fired. */
async function work(
  instance: RegisteredInstance,
): Promise<{ handled: number; timers: number; active: number }> {
  const text = await (await fetch(`${instance.http}/metrics`)).text();
  return {
    handled: metricSum(text, 'consumer_handle_duration_seconds_count'),
    timers: metricSum(text, 'saga_step_timeouts_total') + metricSum(text, 'saga_resends_total'),
    active: metricSum(text, 'service_active'),
  };
}

describe('a blue-green release under load (mercato release --strategy blue-green, mercato rollback)', () => {
  const suite = suitePlatform('blue-green', ports, {
    MERCATO_REPLICAS: 'catalog=2',
    GATEWAY_RATE_LIMIT_DEFAULT: 'off',
    GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
    FULFILLMENT_WORKERS: '0',
  });
  let shop: ShopClient;
  beforeAll(async () => {
    shop = await ShopClient.connect(gateway, suite.dataDir, () => suite.platform.state());
    // The demo's stock (30–80 units a SKU) lasts the suite's orders at 2 a second, not at 5: goods
    // delivered first, so that every order can be kept whatever the rate.
    await restock(suite.platform, ports.postgres, ORDERS_PER_SECOND * 30);
  });
  const { remember } = suite;
  const registry = (service: string) => suite.platform.registry(service);
  const byRole = async (service: string, role: 'active' | 'standby') =>
    (await registry(service)).filter((instance) => instance.role === role);

  it('switches catalog and order to v2 at once with no failed request, the standby handling nothing, every order kept once; rollback moves new calls back within 1 s', async () => {
    const built = await mercato(suite.dataDir, ['build', '--label', 'v2', 'catalog', 'order']);
    expect(built.code, built.output).toBe(0);
    const token = await shop.customer('blue-green-e2e@mercato.test');
    const reads = steadyLoad(
      () => fetch(`${gateway}/api/catalog/products?page_size=5`),
      READS_PER_SECOND,
      asksAgainWhenShed,
    );
    const orders = steadyOrders(shop, token, 'blue-green', ORDERS_PER_SECOND);
    const { orderIds } = orders;
    await sleep(2_000);

    const catalog = await mercato(suite.dataDir, [
      'release',
      'catalog',
      '--strategy',
      'blue-green',
      '--to',
      'v2',
      '--smoke-path',
      '/api/catalog/products?page_size=1',
    ]);
    await remember();
    const order = await mercato(suite.dataDir, [
      'release',
      'order',
      '--strategy',
      'blue-green',
      '--to',
      'v2',
    ]);
    await remember();
    console.log(`catalog blue-green:\n${catalog.output}\norder blue-green:\n${order.output}`);
    expect(catalog.code, catalog.output).toBe(0);
    expect(catalog.output).toMatch(
      /smoke .*10 calls to \/api\/catalog\/products\?page_size=1 .*served by green/,
    );
    expect(order.code, order.output).toBe(0);

    // Blue stands by: in the registry at weight 0, told it is a standby, running no duties.
    for (const [service, count] of [
      ['catalog', 2],
      ['order', 1],
    ] as const) {
      const active = await byRole(service, 'active');
      const standby = await byRole(service, 'standby');
      expect(
        active.map((instance) => instance.version.split('@')[0]),
        service,
      ).toEqual(Array(count).fill('v2'));
      expect(
        standby.map((instance) => instance.version.split('@')[0]),
        service,
      ).toEqual(Array(count).fill('current'));
      for (const instance of standby) {
        expect(instance.weight).toBe(0);
        expect((await work(instance)).active).toBe(0);
      }
    }
    // The old order instance handles no delivery and fires no saga timer while orders keep coming.
    const [oldOrder] = await byRole('order', 'standby');
    if (!oldOrder) throw new Error('no standby order instance');
    const standbyBefore = await work(oldOrder);
    const servedBefore = await served(oldOrder.http);
    await sleep(6_000);
    const standbyAfter = await work(oldOrder);
    expect(standbyAfter.handled).toBe(standbyBefore.handled);
    expect(standbyAfter.timers).toBe(standbyBefore.timers);
    expect(await served(oldOrder.http)).toBe(servedBefore);

    // Rollback of catalog, timed from the request: a second later the green set gets no new call.
    const green = await byRole('catalog', 'active');
    const state = JSON.parse(await readFile(path.join(suite.dataDir, 'run', 'state.json'), 'utf8')) as {
      supervisor: { url: string };
    };
    const adminToken = (await readFile(path.join(suite.dataDir, 'run', 'admin-token'), 'utf8')).trim();
    const asked = Date.now();
    const rollback = await fetch(`${state.supervisor.url}/admin/rollbacks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'catalog' }),
    });
    const answered = Date.now();
    expect(rollback.status).toBe(200);
    await sleep(Math.max(0, asked + 1_000 - Date.now()));
    const greenAt1s = await Promise.all(green.map((instance) => served(instance.http)));
    await sleep(3_000);
    const greenLater = await Promise.all(green.map((instance) => served(instance.http)));
    console.log(
      `catalog rollback answered in ${answered - asked} ms (${JSON.stringify(await rollback.json())}); green served ${greenAt1s.join(', ')} calls 1 s after and ${greenLater.join(', ')} 4 s after`,
    );
    expect(greenLater).toEqual(greenAt1s);
    expect((await byRole('catalog', 'active')).map((instance) => instance.version.split('@')[0])).toEqual([
      'current',
      'current',
    ]);
    // And order back with the CLI.
    const orderBack = await mercato(suite.dataDir, ['rollback', 'order']);
    expect(orderBack.code, orderBack.output).toBe(0);
    expect(orderBack.output).toMatch(/order switched back in \d+ ms/);
    await sleep(2_000);
    await Promise.all([reads.stop(), orders.stop()]);
    console.log(
      `reads the gateway shed and that were asked again: ${JSON.stringify(shedCount(reads.outcomes))}`,
    );

    const failedReads = failed(reads.outcomes, 200);
    const failedOrders = failed(orders.outcomes, 202);
    console.log(
      `under blue-green and rollback: ${reads.outcomes.length} reads (${failedReads.length} failed), ${orders.outcomes.length} orders (${failedOrders.length} failed), offered ${reads.offeredPerSecond().toFixed(1)} reads and ${orders.offeredPerSecond().toFixed(1)} orders a second (asked: ${READS_PER_SECOND}, ${ORDERS_PER_SECOND}) ${JSON.stringify([...failedReads, ...failedOrders].slice(0, 5))}`,
    );
    expect(reads.outcomes.length).toBeGreaterThan(READS_PER_SECOND * 10);
    expect(failedReads, linesForRequests(suite.platform.jsonLines(), failedReads)).toEqual([]);
    expect(failedOrders, linesForRequests(suite.platform.jsonLines(), failedOrders)).toEqual([]);
    expect(new Set(orderIds).size).toBe(orderIds.length);
    const statuses = await settledStatuses(gateway, token, orderIds);
    expect(statuses.filter((status) => !kept.has(status))).toEqual([]);
  }, 240_000);

  it('refuses a rollback with no standby set, in one line', async () => {
    const none = await mercato(suite.dataDir, ['rollback', 'inventory']);
    expect(none.code).toBe(64);
    expect(none.output).toMatch(/rollback refused: inventory has no standby set to switch back to/);
    const unknown = await mercato(suite.dataDir, ['rollback', 'nope']);
    expect(unknown.code).toBe(64);
    expect(unknown.output).toMatch(/No service named nope/);
  });
});
