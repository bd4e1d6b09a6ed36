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
    const done = [dispatcher.run('a', a1.task), dispatcher.run('a', a2.task), dispatcher.run('b', b1.task)];
    await tick();
    expect(log).toEqual(['start a1', 'start b1']);
    a2.open(); // Ready early, but must still wait for a1.
    b1.open();
    await tick();
    expect(log).toEqual(['start a1', 'start b1', 'end b1']);
    a1.open();
    await Promise.all(done);
    expect(log).toEqual(['start a1', 'start b1', 'end b1', 'end a1', 'start a2', 'end a2']);
  });

  it('holds back new work at the limit until a task settles', async () => {
    const dispatcher = new KeyedDispatcher(2);
    const log: string[] = [];
    const first = gate(log, 'x');
    void dispatcher.run('x', first.task);
    void dispatcher.run('y', gate(log, 'y').task);
    let ready = false;
    void dispatcher.ready().then(() => {
      ready = true;
    });
    await tick();
    expect(ready).toBe(false);
    first.open();
    await tick();
    expect(ready).toBe(true);
  });

  it('goes on with a key after one of its tasks fails', async () => {
    const dispatcher = new KeyedDispatcher(4);
    const log: string[] = [];
    const failed = dispatcher.run('k', async () => {
      throw new Error('handler broke');
    });
    await dispatcher.run('k', async () => {
      log.push('next');
    });
    await expect(failed).resolves.toBeUndefined();
    expect(log).toEqual(['next']);
  });
});
