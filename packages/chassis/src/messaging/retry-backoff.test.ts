import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retryDelay } from './retry-backoff.ts';

describe('retryDelay (exponential backoff, full jitter)', () => {
  it('doubles its ceiling per attempt up to the maximum', () => {
    const top = () => 0.999999;
    expect(
      [1, 2, 3, 4, 5].map((attempt) => retryDelay(attempt, { baseMs: 1_000, maxMs: 10_000 }, top)),
    ).toEqual([999, 1_999, 3_999, 7_999, 9_999]);
  });

  it('always lies within [0, min(max, base·2^(n-1))]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 0.9999999, noNaN: true }),
        (attempt, r) => {
          const delay = retryDelay(attempt, { baseMs: 1_000, maxMs: 10_000 }, () => r);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.min(10_000, 1_000 * 2 ** (attempt - 1)));
        },
      ),
    );
  });
});
