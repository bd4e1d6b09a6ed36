import { describe, expect, it } from 'vitest';
import { QUIET_BACKOFF_FACTOR, QuietBackoff } from './quiet-backoff.ts';

describe('QuietBackoff: a safety net that asks less often while nothing happens', () => {
  it('doubles with each quiet pass up to the ceiling, and keeps it', () => {
    const backoff = new QuietBackoff(30_000);
    const waits = Array.from({ length: 6 }, () => backoff.quiet());
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 240_000, 240_000]);
    expect(30_000 * QUIET_BACKOFF_FACTOR).toBe(240_000);
  });

  it('is back at the base interval after a pass that found work', () => {
    const backoff = new QuietBackoff(100);
    backoff.quiet();
    backoff.quiet();
    backoff.quiet();
    backoff.busy();
    expect([backoff.quiet(), backoff.quiet()]).toEqual([100, 200]);
  });
});
