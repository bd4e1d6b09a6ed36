import { AppError, limiterMetrics, OverloadedError } from '@mercato/chassis';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { PlacementAdmission } from './placement-admission.ts';

const pending = () => {
  let resolve: (value: string) => void = () => undefined;
  const promise = new Promise<string>((done) => {
    resolve = done;
  });
  return { promise, resolve };
};

describe('PlacementAdmission', () => {
  it('refuses at once beyond its limit with 503 GATEWAY.OVERLOADED and Retry-After, without calling order', async () => {
    const admission = new PlacementAdmission({ min: 1, max: 1 }, limiterMetrics(new Registry()));
    const first = pending();
    const admitted = admission.run(() => first.promise);
    let called = false;
    const refusal = await admission
      .run(async () => {
        called = true;
        return 'placed';
      })
      .catch((error: unknown) => error);
    expect(called).toBe(false);
    expect(refusal).toBeInstanceOf(OverloadedError);
    expect(refusal).toMatchObject({ code: 'GATEWAY.OVERLOADED', status: 503, retryAfterSeconds: 1 });
    first.resolve('placed');
    await expect(admitted).resolves.toBe('placed');
    await expect(admission.run(async () => 'next')).resolves.toBe('next');
  });

  it("backs off when order sheds, so that the edge refuses what order would, and not on a caller's mistake", async () => {
    const registry = new Registry();
    const admission = new PlacementAdmission({ min: 1, max: 100 }, limiterMetrics(registry));
    const limit = async () =>
      (await registry.getSingleMetric('concurrency_limit')?.get())?.values.find(
        (value) => value.labels.limiter === 'edge-placement',
      )?.value;
    const before = await limit();
    const invalid = new AppError({ code: 'REQUEST.INVALID', kind: 'validation', message: 'no' });
    await expect(admission.run(() => Promise.reject(invalid))).rejects.toBe(invalid);
    expect(await limit()).toBe(before);
    for (let i = 0; i < 10; i += 1)
      await expect(
        admission.run(() => Promise.reject(new OverloadedError('ORDER.OVERLOADED', 'busy'))),
      ).rejects.toMatchObject({ code: 'ORDER.OVERLOADED' });
    expect(await limit()).toBeLessThan(before ?? 0);
  });

  it("refuses itself, without calling order, what order's last answer said it has no room for", async () => {
    const registry = new Registry();
    const clock = { now: 0 };
    const admission = new PlacementAdmission({ min: 1, max: 100 }, limiterMetrics(registry), () => clock.now);
    const full = { instance: 'order-1', free: 0, limit: 20, finishesPerSecond: 10 };
    await expect(
      admission.run(
        async () => ({ headroom: full }),
        (answer) => answer.headroom,
      ),
    ).resolves.toEqual({
      headroom: full,
    });
    let called = false;
    const refusal = await admission
      .run(async () => {
        called = true;
        return { headroom: full };
      })
      .catch((error: unknown) => error);
    expect(called).toBe(false);
    expect(refusal).toMatchObject({ code: 'GATEWAY.OVERLOADED', status: 503, retryAfterSeconds: 1 });
    await expect(admission.shedEarly()).rejects.toMatchObject({ code: 'GATEWAY.OVERLOADED' });
    const refusals = (await registry.getSingleMetric('concurrency_limit_refusals_total')?.get())?.values.find(
      (value) => value.labels.limiter === 'edge-placement-headroom',
    )?.value;
    expect(refusals).toBe(2);
    // At 10 finishes a second, counted at half that rate, a place is free after 200 ms: the next call goes.
    clock.now = 199;
    await expect(admission.shedEarly()).rejects.toMatchObject({ code: 'GATEWAY.OVERLOADED' });
    clock.now = 200;
    await expect(admission.shedEarly()).resolves.toBeUndefined();
    await expect(admission.run(async () => 'placed')).resolves.toBe('placed');
  });

  it('admits everything when off', async () => {
    const admission = new PlacementAdmission(undefined, limiterMetrics(new Registry()));
    const calls = await Promise.all(Array.from({ length: 500 }, () => admission.run(async () => 1)));
    expect(calls).toHaveLength(500);
  });
});
