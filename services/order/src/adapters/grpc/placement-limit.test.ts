import { OverloadedError } from '@mercato/chassis';
import { describe, expect, it } from 'vitest';
import { PlacementLimit } from './placement-limit.ts';

const settings = { initial: 2, min: 2, max: 2, holdMs: 60_000 };

describe('PlacementLimit', () => {
  it('counts an accepted order until its saga finishes, and refuses at once beyond the limit', async () => {
    const limit = new PlacementLimit(settings);
    await limit.admit(
      async () => 'a',
      (id) => id,
    );
    await limit.admit(
      async () => 'b',
      (id) => id,
    );
    expect(limit.inFlight).toBe(2);
    let created = false;
    const refusal = await limit
      .admit(
        async () => {
          created = true;
          return 'c';
        },
        (id) => id,
      )
      .catch((error: unknown) => error);
    expect(created).toBe(false);
    expect(refusal).toBeInstanceOf(OverloadedError);
    expect(refusal).toMatchObject({ code: 'ORDER.OVERLOADED', kind: 'unavailable', retryAfterSeconds: 1 });

    limit.finished('a');
    limit.finished('a');
    expect(limit.inFlight).toBe(1);
    await expect(
      limit.admit(
        async () => 'c',
        (id) => id,
      ),
    ).resolves.toBe('c');
  });

  it('does not count a replayed order, a failed creation or an order finished elsewhere', async () => {
    const limit = new PlacementLimit(settings);
    await limit.admit(
      async () => 'replayed',
      () => undefined,
    );
    await expect(
      limit.admit(
        () => Promise.reject(new Error('pricing down')),
        (id) => id,
      ),
    ).rejects.toThrow();
    limit.finished('unknown');
    expect(limit.inFlight).toBe(0);
  });

  it('stops counting an order whose end it never sees, after the hold time', async () => {
    const clock = { now: 0 };
    const limit = new PlacementLimit({ ...settings, holdMs: 1_000 }, undefined, () => clock.now);
    await limit.admit(
      async () => 'a',
      (id) => id,
    );
    await limit.admit(
      async () => 'b',
      (id) => id,
    );
    clock.now = 1_001;
    await expect(
      limit.admit(
        async () => 'c',
        (id) => id,
      ),
    ).resolves.toBe('c');
    expect(limit.inFlight).toBe(1);
  });
});

describe('PlacementLimit headroom', () => {
  it('reports its free places and the rate orders finish, for the edge to pace by', async () => {
    let now = 0;
    const limit = new PlacementLimit({ initial: 4, min: 4, max: 4, holdMs: 60_000 }, undefined, () => now);
    expect(limit.headroom()).toMatchObject({ free: 4, limit: 4, finishesPerSecond: 0 });
    for (const id of ['a', 'b', 'c'])
      await limit.admit(
        async () => id,
        (created) => created,
      );
    expect(limit.headroom()).toMatchObject({ free: 1, limit: 4 });
    // Three finished 100 ms apart: about 1.5 a second on a 2 s time constant, and it fades after.
    for (const id of ['a', 'b', 'c']) {
      now += 100;
      limit.finished(id);
    }
    const { free, finishesPerSecond } = limit.headroom();
    expect(free).toBe(4);
    expect(finishesPerSecond).toBeGreaterThan(1.3);
    expect(finishesPerSecond).toBeLessThan(1.5);
    now += 10_000;
    expect(limit.headroom().finishesPerSecond).toBeLessThan(0.02);
    // A finish it does not hold (another instance's order) frees nothing here and is not counted.
    const before = limit.headroom().finishesPerSecond;
    limit.finished('unknown');
    expect(limit.headroom().finishesPerSecond).toBe(before);
    // Each process answers with an instance id of its own.
    expect(limit.headroom().instance).toMatch(/^[0-9a-f-]{36}$/);
    expect(new PlacementLimit(settings).headroom().instance).not.toBe(limit.headroom().instance);
  });
});
