import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AdaptiveLimit } from './adaptive-limit.ts';
import { ConcurrencyLimiter, limiterMetrics } from './concurrency-limiter.ts';

/** Feeds `count` samples of `rttMs` with the caller using the whole limit. */
const feed = (limit: AdaptiveLimit, rttMs: number, count: number) => {
  for (let i = 0; i < count; i += 1) limit.sample(rttMs, limit.limit);
};

describe('AdaptiveLimit', () => {
  it('grows while latency stays at its no-queue level', () => {
    const limit = new AdaptiveLimit({ initial: 10, min: 2, max: 100 });
    feed(limit, 20, 200);
    expect(limit.limit).toBe(100);
  });

  it('shrinks when latency rises above its no-queue level, and grows back when it falls', () => {
    const limit = new AdaptiveLimit({ initial: 50, min: 2, max: 100 });
    feed(limit, 20, 50);
    const before = limit.limit;
    feed(limit, 200, 30);
    expect(limit.limit).toBeLessThan(before / 2);
    const low = limit.limit;
    feed(limit, 20, 100);
    expect(limit.limit).toBeGreaterThan(low);
  });

  it('with a tolerance of 1.5 (calls to a dependency), lets latency reach 1.5 times its no-queue level before it shrinks', () => {
    const tolerant = new AdaptiveLimit({ initial: 50, min: 2, max: 100, rttTolerance: 1.5 });
    feed(tolerant, 20, 50);
    const before = tolerant.limit;
    feed(tolerant, 28, 100);
    expect(tolerant.limit).toBeGreaterThanOrEqual(before);
    // The default (placement's limits): a queue shows as soon as latency rises.
    const strict = new AdaptiveLimit({ initial: 50, min: 2, max: 100 });
    feed(strict, 20, 50);
    feed(strict, 28, 100);
    expect(strict.limit).toBeLessThan(before);
    expect(() => new AdaptiveLimit({ rttTolerance: 0.5 })).toThrow(RangeError);
  });

  it('does not grow while the caller uses less than half of it', () => {
    const limit = new AdaptiveLimit({ initial: 40, min: 2, max: 100 });
    for (let i = 0; i < 100; i += 1) limit.sample(20, 5);
    expect(limit.limit).toBe(40);
  });

  it('backs off at once on a dropped call', () => {
    const limit = new AdaptiveLimit({ initial: 100, min: 2, max: 100, backoffRatio: 0.5 });
    limit.sample(0, 100, true);
    expect(limit.limit).toBe(50);
  });

  it('refuses settings whose bounds are inverted', () => {
    expect(() => new AdaptiveLimit({ min: 10, max: 5 })).toThrow(RangeError);
  });

  it('stays within [min, max] whatever the samples (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.array(
          fc.record({
            rtt: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constant(Number.NaN)),
            inFlight: fc.integer({ min: 0, max: 2000 }),
            dropped: fc.boolean(),
          }),
          { maxLength: 300 },
        ),
        (min, span, initial, samples) => {
          const max = min + span;
          const limit = new AdaptiveLimit({ min, max, initial });
          for (const { rtt, inFlight, dropped } of samples) {
            const value = limit.sample(rtt, inFlight, dropped);
            expect(value).toBeGreaterThanOrEqual(min);
            expect(value).toBeLessThanOrEqual(max);
          }
        },
      ),
    );
  });

  it('decreases under rising latency (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20, max: 200 }),
        fc.double({ min: 1, max: 500, noNaN: true }),
        fc.double({ min: 3, max: 50, noNaN: true }),
        fc.integer({ min: 20, max: 100 }),
        (initial, baseMs, factor, rising) => {
          const limit = new AdaptiveLimit({ initial, min: 2, max: 1000 });
          feed(limit, baseMs, 20);
          const before = limit.limit;
          // Latency climbs from three times its no-queue level upward: a queue is building.
          for (let i = 0; i < rising; i += 1) limit.sample(baseMs * factor * (1 + i / rising), limit.limit);
          expect(limit.limit).toBeLessThan(before);
        },
      ),
    );
  });
});

describe('ConcurrencyLimiter', () => {
  it('refuses at once beyond the limit and counts the refusal', async () => {
    const registry = new Registry();
    const limiter = new ConcurrencyLimiter({
      name: 'order',
      settings: { initial: 2, min: 2, max: 2 },
      metrics: limiterMetrics(registry),
    });
    const first = limiter.tryAcquire();
    const second = limiter.tryAcquire();
    expect(first && second).toBeTruthy();
    expect(limiter.tryAcquire()).toBeUndefined();
    first?.success();
    first?.success(); // a second release is ignored
    expect(limiter.inFlight).toBe(1);
    expect(limiter.tryAcquire()).toBeDefined();
    const text = await registry.metrics();
    expect(text).toContain('concurrency_limit_refusals_total{limiter="order"} 1');
    expect(text).toContain('concurrency_limit{limiter="order"} 2');
  });

  it('shares the metric families between limiters of one registry', () => {
    const registry = new Registry();
    expect(limiterMetrics(registry).limit).toBe(limiterMetrics(registry).limit);
  });
});
