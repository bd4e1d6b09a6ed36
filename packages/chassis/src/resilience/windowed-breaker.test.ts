import { CircuitState } from 'cockatiel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowedBreaker } from './windowed-breaker.ts';

const breakerAt = (clock: { now: number }) =>
  new WindowedBreaker({
    threshold: 5,
    windowMs: 10_000,
    trialCalls: 3,
    openMs: 1_000,
    maxOpenMs: 30_000,
    now: () => clock.now,
  });

/** The open time cockatiel would get from the breaker as the circuit opens on `error`. */
const opened = (breaker: WindowedBreaker, error = new Error('unavailable')) =>
  breaker.halfOpenAfter.next({ attempt: 1, result: { error }, signal: new AbortController().signal })
    .duration;

const openBreaker = (breaker: WindowedBreaker) => {
  for (let i = 0; i < 5; i += 1) breaker.failure(CircuitState.Closed);
};

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

  it('stays open 1 s, doubling while the trial calls fail, up to 30 s, and 1 s again after a recovery', () => {
    const breaker = breakerAt({ now: 0 });
    openBreaker(breaker);
    const durations = [opened(breaker)];
    for (let i = 0; i < 7; i += 1) {
      expect(breaker.failure(CircuitState.HalfOpen)).toBe(true);
      durations.push(opened(breaker));
    }
    expect(durations).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);

    // A failure among the later trial calls is a failed recovery too.
    breaker.success(CircuitState.HalfOpen);
    expect(breaker.failure(CircuitState.Closed)).toBe(true);
    expect(opened(breaker)).toBe(30_000);

    // Once all three trial calls pass, the next opening starts over at 1 s.
    breaker.success(CircuitState.HalfOpen);
    breaker.success(CircuitState.Closed);
    breaker.success(CircuitState.Closed);
    openBreaker(breaker);
    expect(opened(breaker)).toBe(1_000);
  });

  it('probes again after 250 ms, without doubling, when a trial is refused before reaching the dependency', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const breaker = new WindowedBreaker({
      threshold: 5,
      windowMs: 10_000,
      trialCalls: 3,
      openMs: 1_000,
      maxOpenMs: 30_000,
      refused: (reason) => 'error' in reason && reason.error === refused,
      refusedProbeMs: 250,
    });
    // The first opening waits the full second, whatever opened it.
    openBreaker(breaker);
    expect(opened(breaker, refused)).toBe(1_000);
    for (let i = 0; i < 5; i += 1) {
      breaker.failure(CircuitState.HalfOpen);
      expect(opened(breaker, refused)).toBe(250);
    }
    breaker.failure(CircuitState.HalfOpen);
    expect(opened(breaker, new Error('deadline exceeded'))).toBe(2_000);
  });

  it('keeps its open time between 1 s and 30 s, doubling exactly with each failed recovery', () => {
    const event = fc.constantFrom('trial-fails', 'trial-passes', 'call-passes', 'call-fails');
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const breaker = breakerAt({ now: 0 });
        openBreaker(breaker);
        expect(opened(breaker)).toBe(1_000);
        let failedRecoveries = 0;
        let probation = 0;
        for (const happened of events) {
          let reopened = false;
          if (happened === 'trial-fails') {
            reopened = breaker.failure(CircuitState.HalfOpen);
            probation = 0;
          } else if (happened === 'trial-passes') {
            breaker.success(CircuitState.HalfOpen);
            probation = 2;
          } else if (happened === 'call-passes' && probation > 0) {
            breaker.success(CircuitState.Closed);
            probation -= 1;
            if (probation === 0) failedRecoveries = -1;
          } else if (happened === 'call-fails' && probation > 0) {
            reopened = breaker.failure(CircuitState.Closed);
            probation = 0;
          }
          if (!reopened) continue;
          failedRecoveries += 1;
          const duration = opened(breaker);
          expect(duration).toBeGreaterThanOrEqual(1_000);
          expect(duration).toBeLessThanOrEqual(30_000);
          expect(duration).toBe(Math.min(30_000, 1_000 * 2 ** failedRecoveries));
        }
      }),
    );
  });
});
