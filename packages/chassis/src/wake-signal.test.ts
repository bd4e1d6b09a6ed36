import { describe, expect, it, vi } from 'vitest';
import { WakeSignal } from './wake-signal.ts';

describe('WakeSignal', () => {
  it('sleeps for the time given when nobody wakes it', async () => {
    vi.useFakeTimers();
    const signal = new WakeSignal();
    let done = false;
    const sleeping = signal.sleep(1_000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(done).toBe(true);
    vi.useRealTimers();
  });

  it('returns early when woken, and remembers a wake that came while awake', async () => {
    const signal = new WakeSignal();
    const sleeping = signal.sleep(60_000);
    signal.wake();
    await sleeping;
    signal.wake();
    const started = Date.now();
    await signal.sleep(60_000);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('with coalesceMs, takes a burst of wakes in one return per interval, and the first after a quiet spell at once', async () => {
    const signal = new WakeSignal({ coalesceMs: 150 });
    // The first wake ever returns at once.
    let started = performance.now();
    const first = signal.sleep(60_000);
    signal.wake();
    await first;
    expect(performance.now() - started).toBeLessThan(100);
    // Five wakes right after: one return, when the interval since the last one is over.
    started = performance.now();
    let returns = 0;
    const second = signal.sleep(60_000).then(() => {
      returns += 1;
    });
    for (let i = 0; i < 5; i += 1) signal.wake();
    await second;
    expect(returns).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    // The wakes of the burst were absorbed by that return: the next sleep runs its full time.
    started = performance.now();
    await signal.sleep(50);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    // After a quiet spell longer than the interval, a wake returns at once.
    await new Promise((resolve) => setTimeout(resolve, 200));
    started = performance.now();
    const third = signal.sleep(60_000);
    signal.wake();
    await third;
    expect(performance.now() - started).toBeLessThan(100);
  });
});
