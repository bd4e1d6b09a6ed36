import { describe, expect, it } from 'vitest';
import { ReleaseController } from './release-controller.ts';
import { fakePlatform } from './release-fakes.ts';
import type { ReleaseEvent } from './release-steps.ts';

async function release(controller: ReleaseController, to: string) {
  const events: ReleaseEvent[] = [];
  const run = await controller.begin({ service: 'catalog', strategy: 'rolling', to });
  const ok = await run((event) => events.push(event));
  return { ok, steps: events.map((event) => `${event.step} ${event.instance ?? ''}`.trim()) };
}

describe('a rolling release', () => {
  it('starts each new instance and waits until it is ready before it retires an old one', async () => {
    const fake = fakePlatform(['current@1', 'current@1', 'current@1']);
    const controller = new ReleaseController();
    controller.attach(fake.platform);
    const { ok } = await release(controller, 'v2');
    expect(ok).toBe(true);
    expect(fake.log).toEqual([
      'launch catalog-new-1',
      'ready? catalog-new-1',
      'retire catalog-0',
      'launch catalog-new-2',
      'ready? catalog-new-2',
      'retire catalog-1',
      'launch catalog-new-3',
      'ready? catalog-new-3',
      'retire catalog-2',
    ]);
    expect(fake.running().map((instance) => instance.version)).toEqual(['v2@abc', 'v2@abc', 'v2@abc']);
  });

  it('stops where it is when a new instance does not become ready: the old ones left keep serving', async () => {
    const fake = fakePlatform(['current@1', 'current@1'], { failReady: 'bad@abc' });
    const controller = new ReleaseController();
    controller.attach(fake.platform);
    const { ok, steps } = await release(controller, 'bad');
    expect(ok).toBe(false);
    expect(steps.at(-1)).toBe('failed catalog-new-1');
    expect(fake.running().map((instance) => instance.name)).toEqual(['catalog-0', 'catalog-1']);
  });

  it('does nothing when every instance runs the version already', async () => {
    const fake = fakePlatform(['v2@abc']);
    const controller = new ReleaseController();
    controller.attach(fake.platform);
    expect((await release(controller, 'v2')).steps).toEqual(['nothing-to-do']);
  });

  it('refuses, before anything changes, an unknown service or version, a service it cannot release, a second release', async () => {
    const fake = fakePlatform(['current@1']);
    const controller = new ReleaseController();
    await expect(
      controller.begin({ service: 'catalog', strategy: 'rolling', to: 'v2' }),
    ).rejects.toMatchObject({
      code: 'RELEASE.PLATFORM_STARTING',
    });
    controller.attach({
      ...fake.platform,
      instances: (service) => (service === 'nope' ? [] : fake.platform.instances()),
    });
    await expect(controller.begin({ service: 'nope', strategy: 'rolling', to: 'v2' })).rejects.toMatchObject({
      code: 'RELEASE.NO_SUCH_SERVICE',
    });
    await expect(
      controller.begin({ service: 'gateway', strategy: 'rolling', to: 'v2' }),
    ).rejects.toMatchObject({
      code: 'RELEASE.NOT_RELEASABLE',
    });
    await expect(
      controller.begin({ service: 'catalog', strategy: 'rolling', to: 'v9' }),
    ).rejects.toMatchObject({
      code: 'RELEASE.NO_SUCH_VERSION',
    });
    const first = await controller.begin({ service: 'catalog', strategy: 'rolling', to: 'v2' });
    await expect(
      controller.begin({ service: 'catalog', strategy: 'rolling', to: 'v2' }),
    ).rejects.toMatchObject({
      code: 'RELEASE.IN_PROGRESS',
    });
    await first(() => undefined);
    expect(fake.log).not.toContain('launch catalog-new-2');
  });
});
