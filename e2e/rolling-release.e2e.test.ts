import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@mercato/chassis/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { restock } from './support/chaos.ts';
import { askPatiently, asksAgainWhenShed, type Outcome, shedCount, steadyLoad } from './support/edge-load.ts';
import { linesForRequests } from './support/edge-trace.ts';
import { limiterTimeline } from './support/limiter-timeline.ts';
import type { RegisteredInstance } from './support/platform-process.ts';
import { mercato, served } from './support/release-cli.ts';
import { releaseLoad } from './support/release-load.ts';
import { kept, ShopClient, settledStatuses, steadyOrders } from './support/shop-client.ts';
import { suitePlatform } from './support/suite-platform.ts';

// Ports of their own, so the suite runs beside a developer's `npm start` and the other e2e suites.
const ports = { postgres: 25425, gateway: 19680, base: 16601, grpcBase: 17601 };
const gateway = `http://127.0.0.1:${ports.gateway}`;
// 50 reads and 2 orders a second unless MERCATO_E2E_RELEASE_LOAD says otherwise (release-load.ts;
// the issue's 100 and 5 are beyond this 2-core machine: docs/releases.md, "The rate").
const { readsPerSecond: READS_PER_SECOND, ordersPerSecond: ORDERS_PER_SECOND } = releaseLoad();

/**
 * catalog as it was before products had a slug (the commit that added `mercato build --from`, the
 * last before the field): v1, built from that commit's sources. The platform runs the working tree's
 * catalog, which has it, so the release goes to a version that really differs and back.
 */
const CATALOG_V1_COMMIT = 'dc9b4a7c19b3ec8748d8fa716cdd98f6a2d509cc';

/** Whether the products the edge lists now carry a slug: all of them, none, or some (a mix of versions). */
async function slugs(): Promise<'all' | 'none' | 'some'> {
  // Asked as the load's own reads are: the edge may shed a read for a moment on a busy machine.
  const { answer } = await askPatiently(() => fetch(`${gateway}/api/catalog/products?page_size=20`));
  if (answer.status !== 200)
    throw new Error(`the product list answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  const page = JSON.parse(answer.body) as { items: { slug?: string }[] };
  const withSlug = page.items.filter((item) => typeof item.slug === 'string' && item.slug.length > 0).length;
  return withSlug === page.items.length ? 'all' : withSlug === 0 ? 'none' : 'some';
}

const failures = (outcomes: readonly Outcome[], ok: (status: number) => boolean) =>
  outcomes.filter((outcome) => !ok(outcome.status));

describe('a rolling release under load (mercato release --strategy rolling)', () => {
  const suite = suitePlatform('release', ports, {
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

  it('refuses what it cannot release with a one-line reason, before anything changes', async () => {
    const noVersion = await mercato(suite.dataDir, ['release', 'catalog', '--to', 'v9']);
    expect(noVersion.code).toBe(64);
    expect(noVersion.output).toMatch(/catalog has no version "v9" \(built: none\)/);
    const gatewayRelease = await mercato(suite.dataDir, ['release', 'gateway']);
    expect(gatewayRelease.code).toBe(64);
    expect(gatewayRelease.output).toMatch(/fixed address/);
    const badLabel = await mercato(suite.dataDir, ['build', '--label', 'V2/../x', 'catalog']);
    expect(badLabel.code).toBe(64);
    expect(badLabel.output).toMatch(/not a version label/);
    expect((await registry('catalog')).map((instance) => instance.instance).sort()).toEqual([
      'catalog',
      'catalog-2',
    ]);
  });

  it('releases catalog to v1 (an older commit, without the slug) and back, and order to v2, one instance at a time, with no failed request and every order kept once', async () => {
    const v1 = await mercato(suite.dataDir, [
      'build',
      '--label',
      'v1',
      '--from',
      CATALOG_V1_COMMIT,
      'catalog',
    ]);
    expect(v1.code, v1.output).toBe(0);
    expect(v1.output).toContain(`from ${CATALOG_V1_COMMIT.slice(0, 12)}`);
    const built = await mercato(suite.dataDir, ['build', '--label', 'v2', 'order']);
    expect(built.code, built.output).toBe(0);
    expect(await slugs()).toBe('all');
    const token = await shop.customer('release-e2e@mercato.test');
    const reads = steadyLoad(
      () => fetch(`${gateway}/api/catalog/products?page_size=5`),
      READS_PER_SECOND,
      asksAgainWhenShed,
    );
    const orders = steadyOrders(shop, token, 'release', ORDERS_PER_SECOND);
    const { orderIds } = orders;
    const limits = limiterTimeline(gateway, 'catalog');
    const loadStart = Date.now();
    await sleep(2_000);
    const marks: string[] = [];
    const mark = (what: string) => marks.push(`${what} +${((Date.now() - loadStart) / 1000).toFixed(1)}s`);
    mark('catalog release to v1');
    const catalog = await mercato(suite.dataDir, [
      'release',
      'catalog',
      '--strategy',
      'rolling',
      '--to',
      'v1',
    ]);
    await remember();
    // v1 serves every read now: the gateway (N) leaves out the field an older catalog (N-1) lacks.
    const underV1 = await slugs();
    mark('order release');
    const order = await mercato(suite.dataDir, ['release', 'order', '--to', 'v2']);
    await remember();
    // And forward: catalog to the working tree's build, which has the slug again.
    mark('catalog to current');
    const back = await mercato(suite.dataDir, ['release', 'catalog', '--to', 'current']);
    await remember();
    mark('all released');
    const afterBack = await slugs();
    await sleep(2_000);
    await Promise.all([reads.stop(), orders.stop(), limits.stop()]);
    console.log(
      `reads the gateway shed and that were asked again: ${JSON.stringify(shedCount(reads.outcomes))}`,
    );
    console.log(
      `catalog release:\n${catalog.output}\norder release:\n${order.output}\ncatalog back:\n${back.output}`,
    );
    expect(catalog.code, catalog.output).toBe(0);
    expect(order.code, order.output).toBe(0);
    expect(back.code, back.output).toBe(0);
    expect(underV1).toBe('none');
    expect(afterBack).toBe('all');

    const failedReads = failures(reads.outcomes, (status) => status === 200);
    const failedOrders = failures(orders.outcomes, (status) => status === 202);
    // When the failures were sent, per second since the load began, beside when each release ran.
    const bySecond = new Map<number, number>();
    for (const failed of [...failedReads, ...failedOrders]) {
      const second = Math.floor((failed.sentAt - loadStart) / 1000);
      bySecond.set(second, (bySecond.get(second) ?? 0) + 1);
    }
    console.log(
      `${marks.join(', ')}; failures by second sent: ${JSON.stringify(Object.fromEntries(bySecond))}`,
    );
    const slowest = [...reads.outcomes].sort((a, b) => b.endedAt - b.sentAt - (a.endedAt - a.sentAt));
    console.log(
      `slowest reads (ms, sent at +s): ${slowest
        .slice(0, 8)
        .map(
          (read) =>
            `${read.endedAt - read.sentAt}@${((read.sentAt - loadStart) / 1000).toFixed(1)} ${read.status}`,
        )
        .join(', ')}`,
    );
    console.log(
      `under release: ${reads.outcomes.length} reads (${failedReads.length} failed), ${orders.outcomes.length} orders (${failedOrders.length} failed), offered ${reads.offeredPerSecond().toFixed(1)} reads and ${orders.offeredPerSecond().toFixed(1)} orders a second (asked: ${READS_PER_SECOND}, ${ORDERS_PER_SECOND}) ${JSON.stringify([...failedReads, ...failedOrders].slice(0, 5))}`,
    );
    // On a failure, what the platform warned of around it says why (circuits, timeouts, restarts).
    const explain = () => {
      const failed = [...failedReads, ...failedOrders];
      const from = Math.min(...failed.map((outcome) => outcome.sentAt)) - 5_000;
      const to = Math.max(...failed.map((outcome) => outcome.endedAt)) + 1_000;
      const warnings = suite.platform
        .jsonLines()
        .filter((line) => line.level === 'warn' || line.level === 'error' || line.level === 'fatal')
        .filter((line) => {
          const at = Date.parse(String(line.timestamp));
          return at >= from && at <= to;
        })
        .map(
          (line) => `${String(line.timestamp).slice(11, 23)} ${String(line.service)} ${String(line.message)}`,
        );
      return `${marks.join(', ')} (load began ${new Date(loadStart).toISOString()}); failures by second sent: ${JSON.stringify(Object.fromEntries(bySecond))}; first failed: ${JSON.stringify(failed.slice(0, 3))}; the gateway's lines for them:\n${linesForRequests(suite.platform.jsonLines(), failed)}\nwarnings around them:\n${warnings.slice(0, 40).join('\n')}\nthe gateway's limit for catalog, from the load's start:\n${limits.describe()}`;
    };
    expect(reads.outcomes.length).toBeGreaterThan(READS_PER_SECOND * 5);
    expect(failedReads.length, failedReads.length > 0 ? explain() : '').toBe(0);
    expect(failedOrders.length, failedOrders.length > 0 ? explain() : '').toBe(0);

    // Each service runs the version it was released to only, as many instances as before, all ready.
    for (const [service, count, version] of [
      ['catalog', 2, /^current@[0-9a-f]{12}$/],
      ['order', 1, /^v2@[0-9a-f]{12}$/],
    ] as const) {
      const instances = await registry(service);
      expect(instances, service).toHaveLength(count);
      for (const instance of instances) {
        expect(instance.version, instance.instance).toMatch(version);
        expect(instance.ready).toBe(true);
      }
    }

    // No order lost or doubled: one order per accepted request, each reaching a kept state.
    expect(new Set(orderIds).size).toBe(orderIds.length);
    const statuses = await settledStatuses(gateway, token, orderIds);
    expect(statuses.filter((status) => !kept.has(status))).toEqual([]);
  }, 240_000);

  /** ms since the release began of the first progress line of `step` (the CLI prints `+12.3s  step …`). */
  const stepAt = (output: string, step: string): number | undefined => {
    const line = output.split('\n').find((text) => new RegExp(`^\\s*\\+[0-9.]+s\\s+${step}\\b`).test(text));
    const seconds = line ? /\+([0-9.]+)s/.exec(line)?.[1] : undefined;
    return seconds === undefined ? undefined : Number(seconds) * 1000;
  };
  const CANARY_INTERVAL_MS = 8_000;
  const canary = (label: string) =>
    mercato(suite.dataDir, [
      'release',
      'catalog',
      '--strategy',
      'canary',
      '--to',
      label,
      '--interval-ms',
      String(CANARY_INTERVAL_MS),
      // At 5 % of 50 reads a second an 8 s window sees about 20 canary calls.
      '--min-sample',
      '8',
      // A canary beside a loaded shop on two cores: its p99 over a window is one stall away from
      // the stable's plus 100 ms (164 ms against 10 once in CI, the same build on both sides). The
      // 500 ms ceiling still holds; the bad version below is caught by its errors.
      '--p99-margin-ms',
      '400',
    ]);

  it('promotes a good canary step by step (5, 25, 50 %) on its analysis, with no failed request', async () => {
    const built = await mercato(suite.dataDir, ['build', '--label', 'v3', 'catalog']);
    expect(built.code, built.output).toBe(0);
    const reads = steadyLoad(
      () => fetch(`${gateway}/api/catalog/products?page_size=5`),
      READS_PER_SECOND,
      asksAgainWhenShed,
    );
    await sleep(1_000);
    const releasing = canary('v3');
    // A tester's header sends a request to the canary, whatever its share of calls.
    let canaryInstance: RegisteredInstance | undefined;
    await waitFor(
      'the canary in the registry, ready',
      async () => {
        canaryInstance = (await registry('catalog')).find((instance) => instance.canary && instance.ready);
        return canaryInstance !== undefined;
      },
      30_000,
      100,
    );
    const servedBefore = await served(canaryInstance?.http ?? '');
    // One after another, as a tester clicks, while the canary warms up at 5 %.
    const tester: Response[] = [];
    for (let i = 0; i < 20; i += 1)
      tester.push(
        await fetch(`${gateway}/api/catalog/products?page_size=5`, {
          headers: { 'x-mercato-canary': 'always' },
        }),
      );
    const servedAfter = await served(canaryInstance?.http ?? '');
    const release = await releasing;
    await remember();
    await sleep(1_000);
    await reads.stop();
    console.log(
      `reads the gateway shed and that were asked again: ${JSON.stringify(shedCount(reads.outcomes))}`,
    );
    console.log(
      `canary of v3:\n${release.output}\n20 reads with x-mercato-canary: always: the canary served ${servedAfter - servedBefore} calls meanwhile`,
    );
    expect(tester.map((response) => response.status)).toEqual(Array(20).fill(200));
    expect(servedAfter - servedBefore).toBeGreaterThanOrEqual(20);
    expect(release.code, release.output).toBe(0);
    for (const share of [5, 25, 50])
      expect(release.output).toMatch(new RegExp(`analysis .*pass at ${share} %`));
    expect(failures(reads.outcomes, (status) => status === 200)).toEqual([]);
    const instances = await registry('catalog');
    expect(instances).toHaveLength(2);
    for (const instance of instances) expect(instance.version).toMatch(/^v3@/);
  }, 180_000);

  it('rolls a bad canary back on its analysis within two intervals, printing the figures that decided', async () => {
    const built = await mercato(suite.dataDir, [
      'build',
      '--label',
      'bad',
      '--fault',
      'error-percent=60',
      'catalog',
    ]);
    expect(built.code, built.output).toBe(0);
    expect(built.output).toMatch(/MERCATO_FAULT_ERROR_PERCENT/);
    const reads = steadyLoad(
      () => fetch(`${gateway}/api/catalog/products?page_size=5`),
      READS_PER_SECOND,
      asksAgainWhenShed,
    );
    await sleep(1_000);
    const release = await canary('bad');
    const rolledBackAt = Date.now();
    await remember();
    await sleep(2_000);
    await reads.stop();
    console.log(
      `reads the gateway shed and that were asked again: ${JSON.stringify(shedCount(reads.outcomes))}`,
    );
    const duringCanary = reads.outcomes.filter((outcome) => outcome.sentAt <= rolledBackAt);
    console.log(
      `canary of bad:\n${release.output}\n${failures(duringCanary, (status) => status === 200).length} of ${duringCanary.length} edge reads failed while it had its share`,
    );
    expect(release.code, release.output).toBe(1);
    expect(release.output).toMatch(
      /analysis .*fail at 5 %: .*FAILED: (success \d+\.\d+ % ≥ 99 %|\d+ of \d+ canary calls failed)/,
    );
    const weighted = stepAt(release.output, 'weight');
    const rollingBack = stepAt(release.output, 'rolling-back');
    expect(weighted).toBeDefined();
    expect(rollingBack).toBeDefined();
    console.log(
      `bad canary rolled back ${(rollingBack ?? 0) - (weighted ?? 0)} ms after it got its first share`,
    );
    // Two intervals, the first one's warm-up (half an interval) included.
    expect((rollingBack ?? 0) - (weighted ?? 0)).toBeLessThanOrEqual(2 * CANARY_INTERVAL_MS + 2_000);
    // The stable version keeps every call afterwards, and no read sent after the rollback fails.
    const instances = await registry('catalog');
    expect(instances.map((instance) => instance.version.split('@')[0])).toEqual(['v3', 'v3']);
    expect(
      failures(
        reads.outcomes.filter((outcome) => outcome.sentAt > rolledBackAt),
        (status) => status === 200,
      ),
    ).toEqual([]);
  }, 180_000);

  it('promotes a canary of order, a consumer with saga timers, under orders: its share of deliveries reported, every order kept', async () => {
    const built = await mercato(suite.dataDir, ['build', '--label', 'v4', 'order']);
    expect(built.code, built.output).toBe(0);
    const token = await shop.customer('canary-order-e2e@mercato.test');
    const orders = steadyOrders(shop, token, 'canary-order', ORDERS_PER_SECOND);
    await waitFor('a first order', async () => orders.orderIds.length > 0, 30_000, 100);
    const first = orders.orderIds[0] ?? '';
    // The order reads go to order's GetOrder: at 5 % of 30 a second a window sees about 12 canary calls.
    const reads = steadyLoad(
      () => fetch(`${gateway}/api/orders/${first}`, { headers: { authorization: `Bearer ${token}` } }),
      30,
      asksAgainWhenShed,
    );
    await sleep(1_000);
    const release = await mercato(suite.dataDir, [
      'release',
      'order',
      '--strategy',
      'canary',
      '--to',
      'v4',
      '--interval-ms',
      String(CANARY_INTERVAL_MS),
      '--min-sample',
      '8',
      // A freshly started order process on a machine running the whole shop and the load: its p99
      // over a few dozen calls is mostly noise (225 ms against the stable 95 ms once, for the same
      // build). The ceiling of 500 ms still holds; what this test shows is the deliveries share.
      '--p99-margin-ms',
      '400',
    ]);
    await remember();
    await sleep(2_000);
    await Promise.all([reads.stop(), orders.stop()]);
    console.log(
      `reads the gateway shed and that were asked again: ${JSON.stringify(shedCount(reads.outcomes))}`,
    );
    console.log(`canary of order v4:\n${release.output}`);
    expect(release.code, release.output).toBe(0);
    for (const share of [5, 25, 50])
      expect(release.output).toMatch(new RegExp(`analysis .*pass at ${share} %`));
    // As one more member of each of order's consumer groups, it took a share of the deliveries
    // that follows membership, not its weight; each analysis says how much.
    expect(release.output).toMatch(/deliveries: canary \d+ of \d+ \(\d+ %\)/);
    expect(failures(reads.outcomes, (status) => status === 200)).toEqual([]);
    expect(failures(orders.outcomes, (status) => status === 202)).toEqual([]);
    const instances = await registry('order');
    expect(instances).toHaveLength(1);
    expect(instances[0]?.version).toMatch(/^v4@/);
    expect(new Set(orders.orderIds).size).toBe(orders.orderIds.length);
    const statuses = await settledStatuses(gateway, token, orders.orderIds);
    expect(statuses.filter((status) => !kept.has(status))).toEqual([]);
  }, 180_000);
});
