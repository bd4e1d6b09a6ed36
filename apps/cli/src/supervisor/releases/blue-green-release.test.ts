import { describe, expect, it } from 'vitest';
import { ReleaseController } from './release-controller.ts';
import { fakePlatform } from './release-fakes.ts';
import type { ReleaseEvent } from './release-steps.ts';

describe('a blue-green release', () => {
  const blueGreen = async (controller: ReleaseController, to: string) => {
    const events: ReleaseEvent[] = [];
    const run = await controller.begin({ service: 'catalog', strategy: 'blue-green', to });
    const ok = await run((event) => events.push(event));
    return { ok, events };
  };

  it('starts the whole green set as standbys out of the registry’s traffic, checks it alone, then switches in one registry change and keeps blue as the standby', async () => {
    const fake = fakePlatform(['current@1', 'current@1']);
    const controller = new ReleaseController();
    controller.attach(fake.platform);
    const { ok, events } = await blueGreen(controller, 'v2');
    expect(ok).toBe(true);
    expect(fake.log).toEqual([
      'launch catalog-new-1 as standby',
      'ready? catalog-new-1',
      'launch catalog-new-2 as standby',
      'ready? catalog-new-2',
      // Green is reachable by testers only (weight 0, canary) while it is checked.
      'registry catalog-0=1 catalog-1=1 catalog-new-1=0* catalog-new-2=0*',
      'smoke catalog-new-1 catalog-new-2',
      // One registry change moves every call; then deliveries and duties follow.
      'registry catalog-0=0 catalog-1=0 catalog-new-1=1 catalog-new-2=1',
      'active catalog-new-1',
      'active catalog-new-2',
      'standby catalog-0',
      'standby catalog-1',
    ]);
    expect(events.map((event) => event.step)).toEqual([
      'planned',
      'starting',
      'ready',
      'starting',
      'ready',
      'smoke',
      'switched',
      'released',
    ]);

    // Rollback: the same switch the other way, at once.
    fake.log.length = 0;
    const back = await controller.rollback('catalog');
    expect(back).toMatchObject({
      active: ['catalog-0', 'catalog-1'],
      standby: ['catalog-new-1', 'catalog-new-2'],
    });
    expect(fake.log).toEqual([
      'registry catalog-0=1 catalog-1=1 catalog-new-1=0 catalog-new-2=0',
      'active catalog-0',
      'active catalog-1',
      'standby catalog-new-1',
      'standby catalog-new-2',
    ]);

    // The next release replaces the standby set first.
    fake.log.length = 0;
    expect((await blueGreen(controller, 'v3')).ok).toBe(true);
    expect(fake.log.slice(0, 2)).toEqual(['retire catalog-new-1', 'retire catalog-new-2']);
  });

  it('stops green before any call or delivery reached it when green fails its check', async () => {
    const fake = fakePlatform(['current@1'], { failSmoke: true });
    const controller = new ReleaseController();
    controller.attach(fake.platform);
    const { ok, events } = await blueGreen(controller, 'v2');
    expect(ok).toBe(false);
    expect(events.at(-1)?.message).toMatch(
      /green failed its check: GET \/api\/catalog\/products answered 500; green stopped/,
    );
    expect(fake.log.filter((line) => /^(active|standby) /.test(line))).toEqual([]);
    expect(fake.running()).toMatchObject([{ name: 'catalog-0', role: 'active', weight: undefined }]);
  });

  it('refuses a rollback with nothing to switch back to', async () => {
    const fake = fakePlatform(['current@1']);
    const controller = new ReleaseController();
    controller.attach(fake.platform);
    await expect(controller.rollback('catalog')).rejects.toMatchObject({ code: 'RELEASE.NO_STANDBY' });
  });
});
