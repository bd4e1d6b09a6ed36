import { describe, expect, it } from 'vitest';
import { nextRestart, type ProcessExit } from './restart-backoff.ts';

/** The delays a sequence of exits gets, starting from a fresh process. */
function delays(exits: ProcessExit[]): number[] {
  let failures = 0;
  return exits.map((exit) => {
    const next = nextRestart(failures, exit);
    failures = next.failures;
    return next.delayMs;
  });
}

const killedWhenReady: ProcessExit = { uptimeMs: 2_000, becameReady: true, signal: 'SIGKILL' };

describe('restart backoff', () => {
  it('brings a ready process killed from outside back at once, however often', () => {
    expect(delays(Array.from({ length: 8 }, () => killedWhenReady))).toEqual(Array(8).fill(0));
    expect(delays([{ ...killedWhenReady, signal: 'SIGTERM' }])).toEqual([0]);
  });

  it('climbs for a process that dies before it is ready, up to 30 s', () => {
    const early: ProcessExit = { uptimeMs: 300, becameReady: false, signal: null };
    expect(delays(Array.from({ length: 8 }, () => early))).toEqual([
      100, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 30_000,
    ]);
    // Killed from outside before it was ready counts too: it may be what keeps it from starting.
    expect(
      delays([
        { ...early, signal: 'SIGKILL' },
        { ...early, signal: 'SIGKILL' },
      ]),
    ).toEqual([100, 500]);
  });

  it('climbs for a ready process that crashes by itself within 10 s (an uncaught error, an abort)', () => {
    const crashed: ProcessExit = { uptimeMs: 4_000, becameReady: true, signal: null };
    const aborted: ProcessExit = { uptimeMs: 4_000, becameReady: true, signal: 'SIGABRT' };
    expect(delays([crashed, crashed, aborted, crashed])).toEqual([100, 500, 1_000, 2_000]);
  });

  it('starts over once a process stayed up 10 s, and after a kill from outside', () => {
    const crashed: ProcessExit = { uptimeMs: 1_000, becameReady: false, signal: null };
    const stable: ProcessExit = { uptimeMs: 10_000, becameReady: true, signal: null };
    expect(delays([crashed, crashed, crashed, stable, crashed])).toEqual([100, 500, 1_000, 100, 500]);
    expect(delays([crashed, crashed, killedWhenReady, crashed])).toEqual([100, 500, 0, 500]);
  });
});
