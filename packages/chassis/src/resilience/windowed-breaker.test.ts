import { CircuitState } from 'cockatiel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowedBreaker } from './windowed-breaker.ts';

const breakerAt = (clock: { now: number }) =>
  new WindowedBreaker({ threshold: 5, windowMs: 10_000, trialCalls: 3, now: () => clock.now });

describe('WindowedBreaker', () => {
  it('opens on the fifth failure within ten seconds', () => {
    const clock = { now: 0 };
    const breaker = breakerAt(clock);
    const opened = [0, 1, 2, 3, 4].map((i) => {
      clock.now = i * 2_000;
      return breaker.failure(CircuitState.Closed);
    });
    expect(opened).toEqual([false, false, false, false, true]);
  });

  it('forgets failures older than the window', () => {
    const clock = { now: 0 };
    const breaker = breakerAt(clock);
    for (const at of [0, 1_000, 2_000, 3_000]) {
      clock.now = at;
      breaker.failure(CircuitState.Closed);
    }
    clock.now = 10_500;
    expect(breaker.failure(CircuitState.Closed)).toBe(false);
  });

  it('reopens on a failure among the three trial calls, and not after them', () => {
    const clock = { now: 0 };
    const breaker = breakerAt(clock);
    breaker.success(CircuitState.HalfOpen);
    breaker.success(CircuitState.Closed);
    expect(breaker.failure(CircuitState.Closed)).toBe(true);

    breaker.success(CircuitState.HalfOpen);
    breaker.success(CircuitState.Closed);
    breaker.success(CircuitState.Closed);
    expect(breaker.failure(CircuitState.Closed)).toBe(false);
  });

  it('never opens with fewer than five failures in any ten-second window', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60_000 }), { maxLength: 40 }), (times) => {
        const sorted = [...times].sort((a, b) => a - b);
        const clock = { now: 0 };
        const breaker = breakerAt(clock);
        const window: number[] = [];
        for (const at of sorted) {
          clock.now = at;
          const opened = breaker.failure(CircuitState.Closed);
          while (window.length > 0 && at - (window[0] ?? 0) >= 10_000) window.shift();
          window.push(at);
          expect(opened).toBe(window.length >= 5);
          if (opened) window.length = 0;
        }
      }),
    );
  });
});
