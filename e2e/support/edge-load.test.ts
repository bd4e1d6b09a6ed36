import { describe, expect, it } from 'vitest';
import { backoffMs, dueSends } from './edge-load.ts';

describe('backoffMs: how long a shed request waits before it is asked again', () => {
  it('waits the Retry-After at least, plus a random share of a backoff that doubles with each refusal', () => {
    expect(backoffMs(1, 0, () => 0)).toBe(1_000);
    expect(backoffMs(1, 0, () => 1)).toBe(2_000);
    expect(backoffMs(1, 1, () => 1)).toBe(3_000);
    expect(backoffMs(1, 2, () => 0.5)).toBe(3_000);
    expect(backoffMs(2, 0, () => 0)).toBe(2_000);
  });

  it('stops doubling at 8 s, so a long refusal still asks again within the patience', () => {
    expect(backoffMs(1, 3, () => 1)).toBe(9_000);
    expect(backoffMs(1, 10, () => 1)).toBe(9_000);
  });

  it('spreads the retries of requests shed at the same moment', () => {
    const pauses = new Set(Array.from({ length: 50 }, () => backoffMs(1, 1)));
    expect(pauses.size).toBeGreaterThan(10);
    for (const pause of pauses) expect(pause).toBeGreaterThanOrEqual(1_000);
  });
});

describe('dueSends: a steady load keeps its rate when its timer is late', () => {
  it('sends what is due since the start, none twice', () => {
    expect(dueSends(0, 100, 0)).toBe(0);
    expect(dueSends(10, 100, 0)).toBe(1);
    expect(dueSends(10, 100, 1)).toBe(0);
    // A tick 50 ms late at 100 a second sends the five the missed ticks would have.
    expect(dueSends(60, 100, 1)).toBe(5);
    expect(dueSends(1_000, 5, 3)).toBe(2);
    expect(dueSends(999, 5, 5)).toBe(0);
  });
});
