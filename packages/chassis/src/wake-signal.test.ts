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
});
