import { fileURLToPath } from 'node:url';
import { createLogger } from '@mercato/chassis/logging';
import { freePort, waitFor } from '@mercato/chassis/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { LogOutput } from '../src/supervisor/log-output.ts';
import { ServiceProcess } from '../src/supervisor/service-process.ts';

const fixture = fileURLToPath(new URL('./fixtures/ready-server.mjs', import.meta.url));

/** A supervised fixture process, and the restart delays the supervisor logged for it. */
async function supervised(env: Record<string, string>) {
  const port = await freePort();
  const delays: number[] = [];
  const logger = createLogger({
    service: 'supervisor',
    level: 'info',
    destination: {
      write: (line: string) => {
        const entry = JSON.parse(line) as { restart_in_ms?: number };
        if (entry.restart_in_ms !== undefined) delays.push(entry.restart_in_ms);
      },
    },
  });
  const service = new ServiceProcess({
    name: 'fixture',
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    args: [fixture],
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ...env },
    url: `http://127.0.0.1:${port}`,
    output: new LogOutput({ pretty: false, write: () => undefined }),
    logger,
  });
  return { service, delays };
}

const running: ServiceProcess[] = [];
afterEach(async () => {
  for (const service of running.splice(0)) await service.stop(2_000);
});

describe('a supervised process', () => {
  it('comes back at once each time it is killed with SIGKILL once ready', async () => {
    const { service, delays } = await supervised({});
    running.push(service);
    service.start();
    await service.waitReady(10_000);
    for (let kill = 1; kill <= 5; kill += 1) {
      const pid = service.pid as number;
      process.kill(pid, 'SIGKILL');
      await waitFor('the restart', () => service.pid !== undefined && service.pid !== pid, 10_000, 20);
      await service.waitReady(10_000);
    }
    // Five kills within seconds of each start: with a delay that climbed it would be 100…5000.
    expect(delays).toEqual([0, 0, 0, 0, 0]);
  });

  it('backs off, climbing, while it dies before it is ready', async () => {
    const { service, delays } = await supervised({ CRASH_BEFORE_READY: '1' });
    running.push(service);
    service.start();
    await waitFor('four exits', () => delays.length >= 4, 10_000, 20);
    expect(delays.slice(0, 4)).toEqual([100, 500, 1_000, 2_000]);
  });
});
