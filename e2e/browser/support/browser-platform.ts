import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { infraRequired } from '@mercato/chassis/testing';
import type { TestProject } from 'vitest/node';
import { buildServices } from '../../support/build-services.ts';
import { isAlive, PlatformProcess } from '../../support/platform-process.ts';
import { platformDataDir } from '../../support/platform-template.ts';

export const CHROMIUM = process.env.MERCATO_CHROMIUM ?? '/usr/bin/chromium';

/** The ports of the browser suite's one platform (shared by every browser test file). */
export const browserPorts = {
  postgres: 25408,
  gateway: 19880,
  base: 16801,
  grpcBase: 17801,
  supervisor: 16899,
};

declare module 'vitest' {
  export interface ProvidedContext {
    /** The gateway's base URL, or '' when the suite skips (no Chromium). */
    gateway: string;
    supervisor: string;
    dataDir: string;
    adminToken: string;
    postgresPort: number;
    skipReason: string;
  }
}

/**
 * vitest globalSetup of the browser suite: builds every bundle and the web app, then starts one
 * platform for all browser tests (a platform start is the suite's largest cost), with carrier and
 * fulfillment fast enough that an order is delivered within seconds.
 */
export default async function startBrowserPlatform(project: TestProject): Promise<() => Promise<void>> {
  const provideAll = (values: Partial<Record<string, string | number>>) => {
    project.provide('gateway', String(values.gateway ?? ''));
    project.provide('supervisor', String(values.supervisor ?? ''));
    project.provide('dataDir', String(values.dataDir ?? ''));
    project.provide('adminToken', String(values.adminToken ?? ''));
    project.provide('postgresPort', Number(values.postgresPort ?? 0));
    project.provide('skipReason', String(values.skipReason ?? ''));
  };
  if (!existsSync(CHROMIUM)) {
    const reason = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
    if (infraRequired()) throw new Error(`the browser suite needs Chromium: ${reason}`);
    provideAll({ skipReason: reason });
    return async () => undefined;
  }
  buildServices();
  const dataDir = await platformDataDir('browser');
  const platform = new PlatformProcess(dataDir, browserPorts, {
    MERCATO_SUPERVISOR_PORT: String(browserPorts.supervisor),
    GATEWAY_RATE_LIMIT_DEFAULT: 'off',
    // Every test registers and signs in from 127.0.0.1: the per-IP credentials limit would refuse the suite.
    GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
    CARRIER_DELIVERY_MS: '1500',
    FULFILLMENT_TRACK_EVERY_MS: '200',
    // Every trace is kept, so a test finds the one it looks for whatever the sample.
    MERCATO_TRACE_SAMPLE_PERCENT: '100',
  });
  await platform.waitForLine(/all services ready in/, 120_000);
  const state = await platform.state();
  const stragglers = [
    state.supervisor_pid,
    ...Object.values(state.services).map((service) => service.pid ?? 0),
  ];
  provideAll({
    gateway: `http://127.0.0.1:${browserPorts.gateway}`,
    supervisor: `http://127.0.0.1:${browserPorts.supervisor}`,
    dataDir,
    adminToken: (await readFile(path.join(dataDir, 'run', 'admin-token'), 'utf8')).trim(),
    postgresPort: browserPorts.postgres,
  });
  return async () => {
    platform.child.kill('SIGINT');
    await Promise.race([platform.exited(), sleep(15_000, undefined, { ref: false })]);
    for (const pid of stragglers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  };
}
