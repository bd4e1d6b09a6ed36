import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@mercato/chassis';
import { describe, expect, it } from 'vitest';
import { composeParts, NotDeployed } from './compose-parts.ts';

describe('composing parts', () => {
  it('runs parts in parallel: each waits for all three to have started', async () => {
    let started = 0;
    let release = () => {};
    const allStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Run one after another, the first part would wait forever and come back degraded.
    const part = (value: string) => async () => {
      started += 1;
      if (started === 3) release();
      await allStarted;
      return value;
    };
    const { values, degraded } = await composeParts({ a: part('a'), b: part('b'), c: part('c') }, 1_000);
    expect(values).toEqual({ a: 'a', b: 'b', c: 'c' });
    expect(degraded).toEqual([]);
  });

  it('degrades a part that fails, runs out of time (even ignoring its signal) or is not deployed', async () => {
    let aborted = false;
    const { values, degraded } = await composeParts(
      {
        ok: async () => 1,
        slow: async (signal) => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
          await sleep(5_000);
          return 2;
        },
        down: async () => {
          throw new AppError({ code: 'CUSTOMER.CIRCUIT_OPEN', kind: 'unavailable', message: 'open' });
        },
        missing: async () => {
          throw new NotDeployed('order-view');
        },
        broken: async () => {
          throw new TypeError('bug');
        },
      },
      100,
    );
    expect(values).toEqual({ ok: 1, slow: null, down: null, missing: null, broken: null });
    expect(aborted).toBe(true);
    expect(degraded).toEqual(
      expect.arrayContaining([
        { part: 'slow', reason: 'timeout' },
        { part: 'down', reason: 'unavailable', code: 'CUSTOMER.CIRCUIT_OPEN' },
        { part: 'missing', reason: 'not_deployed' },
        { part: 'broken', reason: 'failed' },
      ]),
    );
    expect(degraded).toHaveLength(4);
  });
});
