import { describe, expect, it } from 'vitest';
import { KeyedDispatcher } from './keyed-dispatcher.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A task that records when it starts and finishes only when told to. */
function gate(log: string[], name: string) {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    open: () => open(),
    task: async () => {
      log.push(`start ${name}`);
      await opened;
      log.push(`end ${name}`);
    },
  };
}

describe('KeyedDispatcher', () => {
  it('runs one key in order and different keys at once', async () => {
    const dispatcher = new KeyedDispatcher(10);
    const log: string[] = [];
    const a1 = gate(log, 'a1');
    const a2 = gate(log, 'a2');
    const b1 = gate(log, 'b1');
    const done = await Promise.all([
      dispatcher.admit('a', a1.task),
      dispatcher.admit('a', a2.task),
      dispatcher.admit('b', b1.task),
    ]);
    await tick();
    expect(log).toEqual(['start a1', 'start b1']);
    a2.open(); // Ready early, but must still wait for a1.
    b1.open();
    await tick();
    expect(log).toEqual(['start a1', 'start b1', 'end b1']);
    a1.open();
    await Promise.all(done.map(({ settled }) => settled));
    expect(log).toEqual(['start a1', 'start b1', 'end b1', 'end a1', 'start a2', 'end a2']);
  });

  it('admits no more than the limit, however many callers ask at once', async () => {
    const dispatcher = new KeyedDispatcher(3);
    let running = 0;
    let most = 0;
    const task = async () => {
      running += 1;
      most = Math.max(most, running);
      await tick();
      running -= 1;
    };
    // Many loops each admitting their own keys concurrently, as a bus's partition workers do.
    const admitted = await Promise.all(
      Array.from({ length: 8 }, async (_, loop) => {
        const ends: Array<Promise<void>> = [];
        for (let index = 0; index < 5; index++) {
          ends.push((await dispatcher.admit(`k${loop}-${index}`, task)).settled);
        }
        return Promise.all(ends);
      }),
    );
    expect(admitted).toHaveLength(8);
    expect(most).toBe(3);
  });

  it('goes on with a key after one of its tasks fails', async () => {
    const dispatcher = new KeyedDispatcher(4);
    const log: string[] = [];
    const failed = await dispatcher.admit('k', async () => {
      throw new Error('handler broke');
    });
    const next = await dispatcher.admit('k', async () => {
      log.push('next');
    });
    await next.settled;
    await expect(failed.settled).resolves.toBeUndefined();
    expect(log).toEqual(['next']);
  });
});
