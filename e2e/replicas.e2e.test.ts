import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@mercato/chassis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asksAgainWhenShed, errorWindow, shedCount, steadyLoad } from './support/edge-load.ts';
import { isAlive, PlatformProcess } from './support/platform-process.ts';
import { platformDataDir } from './support/platform-template.ts';

// Ports of their own, so the suite runs beside a developer's `npm start` and the other e2e suites.
const ports = { postgres: 25424, gateway: 19580, base: 16501, grpcBase: 17501 };
const gateway = `http://127.0.0.1:${ports.gateway}`;
const RATE = 50;
const catalogRead = () => fetch(`${gateway}/api/catalog/products?page_size=5`);

/** Calls each catalog instance has served (its own gRPC server's request count). */
async function servedBy(urls: Record<string, string>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [instance, url] of Object.entries(urls)) {
    const text = await (await fetch(`${url}/metrics`)).text();
    counts[instance] = text
      .split('\n')
      .filter((line) => line.startsWith('rpc_server_duration_seconds_count{'))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  }
  return counts;
}

describe('a service at three instances (MERCATO_REPLICAS=catalog=3)', () => {
  let dataDir = '';
  let platform: PlatformProcess;
  const stragglers: number[] = [];

  beforeAll(async () => {
    dataDir = await platformDataDir('replicas');
    platform = new PlatformProcess(dataDir, ports, {
      MERCATO_REPLICAS: 'catalog=3',
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
      GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
    });
    await platform.waitForLine(/all services ready in/, 90_000);
    const state = await platform.state();
    stragglers.push(state.supervisor_pid, ...Object.values(state.services).map((s) => s.pid ?? 0));
  });

  afterAll(async () => {
    platform.child.kill('SIGINT');
    await Promise.race([platform.exited(), sleep(15_000)]);
    for (const pid of stragglers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs three processes on ports of their own, each in the registry and ready', async () => {
    const state = await platform.state();
    const instances = Object.entries(state.services).filter(([, entry]) => entry.service === 'catalog');
    expect(instances.map(([name]) => name).sort()).toEqual(['catalog', 'catalog-2', 'catalog-3']);
    expect(new Set(instances.map(([, entry]) => entry.grpc)).size).toBe(3);
    expect(new Set(instances.map(([, entry]) => entry.database)).size).toBe(1);
    const listed = await platform.registry('catalog');
    expect(listed.map((instance) => [instance.instance, instance.ready]).sort()).toEqual([
      ['catalog', true],
      ['catalog-2', true],
      ['catalog-3', true],
    ]);
  });

  it('spreads the edge’s reads over the three (each 20–45 %), and a kill -9 of one under load is not seen at the edge', async () => {
    const state = await platform.state();
    const urls = Object.fromEntries(
      Object.entries(state.services)
        .filter(([, entry]) => entry.service === 'catalog')
        .map(([name, entry]) => [name, entry.url]),
    );
    const before = await servedBy(urls);
    const spread = steadyLoad(catalogRead, RATE, asksAgainWhenShed);
    await sleep(4_000);
    await spread.stop();
    const after = await servedBy(urls);
    const served = Object.fromEntries(
      Object.keys(urls).map((name) => [name, (after[name] ?? 0) - (before[name] ?? 0)]),
    );
    const total = Object.values(served).reduce((sum, count) => sum + count, 0);
    console.log(
      `catalog instances served ${JSON.stringify(served)} of ${spread.outcomes.length} edge reads; shed and asked again ${JSON.stringify(shedCount(spread.outcomes))}`,
    );
    expect(spread.outcomes.every((outcome) => outcome.status === 200)).toBe(true);
    for (const count of Object.values(served)) {
      expect(count / total).toBeGreaterThanOrEqual(0.2);
      expect(count / total).toBeLessThanOrEqual(0.45);
    }

    const victim = state.services['catalog-2']?.pid as number;
    const load = steadyLoad(catalogRead, RATE, asksAgainWhenShed);
    await sleep(1_000);
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    await waitFor(
      'catalog-2 ready again under a new pid',
      async () => {
        const pid = (await platform.state()).services['catalog-2']?.pid;
        if (!pid || pid === victim) return false;
        stragglers.push(pid);
        return (await platform.registry('catalog')).find((i) => i.instance === 'catalog-2')?.ready === true;
      },
      15_000,
      50,
    );
    const readyAt = Date.now();
    await sleep(3_000);
    await load.stop();
    const window = errorWindow(load.outcomes, killedAt);
    console.log(
      `catalog-2 killed: ready again ${readyAt - killedAt} ms later; ${window.requests} edge reads, ${window.errors} errors ${JSON.stringify(window.statuses)}, ${window.shed} shed and asked again; slowest ${window.slowestMs} ms`,
    );
    expect(window.requests).toBeGreaterThan(RATE * 3);
    expect(window.errors).toBe(0);
  });
});
