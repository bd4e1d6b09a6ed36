import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@mercato/chassis/testing';
import { describe, expect, it } from 'vitest';
import { asksAgainWhenShed, shedCount, steadyLoad } from './support/edge-load.ts';
import { linesForRequests } from './support/edge-trace.ts';
import { suitePlatform } from './support/suite-platform.ts';

// Ports of their own, so the suite runs beside a developer's `npm start` and the other e2e suites.
const ports = { postgres: 25426, gateway: 19780, base: 16701, grpcBase: 17701 };
const gateway = `http://127.0.0.1:${ports.gateway}`;
const read = () => fetch(`${gateway}/api/catalog/products?page_size=20`);

describe('autoscaling (MERCATO_AUTOSCALE=catalog=1..2)', () => {
  const suite = suitePlatform('autoscale', ports, {
    MERCATO_AUTOSCALE: 'catalog=1..2',
    // Thresholds a test's load crosses within seconds; the defaults are 60 % and 15 % of a core,
    // sampled every 2 s, with a 10 s cooldown.
    MERCATO_AUTOSCALE_UP_CPU_PERCENT: '10',
    MERCATO_AUTOSCALE_DOWN_CPU_PERCENT: '4',
    MERCATO_AUTOSCALE_INTERVAL_MS: '1000',
    MERCATO_AUTOSCALE_COOLDOWN_MS: '3000',
    GATEWAY_RATE_LIMIT_DEFAULT: 'off',
    GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
  });
  const { remember } = suite;

  const catalogTargets = async (): Promise<number> => {
    const file = path.join(suite.dataDir, 'run', 'prometheus-targets.json');
    const targets = JSON.parse(await readFile(file, 'utf8')) as { labels: { service: string } }[];
    return targets.filter((target) => target.labels.service === 'catalog').length;
  };
  const readyCatalogs = async (): Promise<number> =>
    (await suite.platform.registry('catalog')).filter((instance) => instance.ready).length;

  it('adds an instance under load and drains it after, with no failed request', async () => {
    expect(await readyCatalogs()).toBe(1);
    const began = Date.now();
    const busy = steadyLoad(read, 60, asksAgainWhenShed);
    await waitFor('a second catalog instance, ready', async () => (await readyCatalogs()) === 2, 60_000, 250);
    const addedAt = Date.now();
    await remember();
    // Prometheus' targets follow (the run's config reads them from this file).
    await waitFor(
      'two catalog targets for Prometheus',
      async () => (await catalogTargets()) === 2,
      5_000,
      100,
    );
    await sleep(2_000);
    await busy.stop();
    // A trickle keeps going while it scales back, so a request sent to the instance being drained would show.
    const quiet = steadyLoad(read, 5, asksAgainWhenShed);
    await waitFor('back to one catalog instance', async () => (await readyCatalogs()) === 1, 60_000, 250);
    const removedAt = Date.now();
    await waitFor(
      'one catalog target for Prometheus',
      async () => (await catalogTargets()) === 1,
      5_000,
      100,
    );
    await sleep(1_500);
    await quiet.stop();
    const outcomes = [...busy.outcomes, ...quiet.outcomes];
    const failed = outcomes.filter((outcome) => outcome.status !== 200);
    const decisions = suite.platform
      .jsonLines()
      .map((line) => String(line.message ?? line.msg ?? ''))
      .filter((message) => message.startsWith('autoscale:'));
    console.log(
      `added after ${addedAt - began} ms of load, removed ${removedAt - addedAt} ms later; ${outcomes.length} reads, ${failed.length} failed, ${shedCount(outcomes).requests} shed and asked again\n${decisions.join('\n')}`,
    );
    expect(decisions.some((message) => /catalog 1 → 2 instances \(CPU per instance/.test(message))).toBe(
      true,
    );
    expect(
      decisions.some((message) => /catalog 2 → 1 instances \(CPU per instance at or below/.test(message)),
    ).toBe(true);
    expect(failed, linesForRequests(suite.platform.jsonLines(), failed)).toEqual([]);
    // The console's release steps hold the decisions too.
    const { steps } = await suite.platform.admin<{ steps: Array<{ service: string; message: string }> }>(
      'releases',
    );
    expect(
      steps.some(
        (step) => step.service === 'catalog' && /^autoscale: catalog 1 → 2 instances/.test(step.message),
      ),
    ).toBe(true);
  }, 180_000);
});
