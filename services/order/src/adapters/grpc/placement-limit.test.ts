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
