import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { notFound, OverloadedError } from '../errors/app-error.ts';
import { createLogger } from '../logging/create-logger.ts';
import { AsyncExperiment } from './async-experiment.ts';
import { bucketOf } from './experiment.ts';

const logger = createLogger({ service: 'async-experiment-test', level: 'silent' });

interface Profile {
  id: number;
  name: string;
  updatedAt: number;
}

const now = 1_000_000;
const monolith = async (id: number): Promise<Profile> => {
  if (id === 404) throw notFound('LEGACY.NOT_FOUND', `Customer ${id} does not exist`);
  return { id, name: `Customer ${id}`, updatedAt: now - 60_000 };
};

function experiment(candidate: (id: number) => Promise<Profile>) {
  return new AsyncExperiment<number, Profile>({
    name: 'customer-reads',
    control: monolith,
    candidate,
    registry: new Registry(),
    logger,
    // A row the control changed within the last 5 s may still be on its way to the candidate.
    ignore: (control) => control.updatedAt > now - 5_000,
  });
}

describe('AsyncExperiment (branch by abstraction across processes)', () => {
  it('answers with the control at once in shadow, and compares the candidate when it comes', async () => {
    const slow = experiment(async (id) => {
      await sleep(200);
      return { id, name: id === 3 ? 'Someone else' : `Customer ${id}`, updatedAt: now - 60_000 };
    });
    const started = performance.now();
    const answers = await Promise.all(
      [1, 2, 3].map((id) => slow.run(id, { mode: 'shadow', candidatePercent: 0, subject: `c${id}` })),
    );
    expect(performance.now() - started).toBeLessThan(150);
    expect(answers.map((answer) => answer.name)).toEqual(['Customer 1', 'Customer 2', 'Customer 3']);
    expect(slow.report().compared).toBe(0);
    await slow.settled();
    expect(slow.report()).toMatchObject({ mode: 'shadow', compared: 3, mismatches: 1 });
    expect(slow.report().recent[0]).toMatchObject({ subject: 'c3', control: { name: 'Customer 3' } });
  });

  it("compares errors by class, code and message, and rethrows the control's", async () => {
    const same = experiment(async (id) => {
      throw notFound('LEGACY.NOT_FOUND', `Customer ${id} does not exist`);
    });
    await expect(same.run(404, { mode: 'shadow', candidatePercent: 0 })).rejects.toMatchObject({
      code: 'LEGACY.NOT_FOUND',
    });
    const other = experiment(() => {
      throw notFound('CUSTOMER.NOT_FOUND', 'Customer 404 does not exist');
    });
    await expect(other.run(404, { mode: 'shadow', candidatePercent: 0 })).rejects.toThrow();
    await Promise.all([same.settled(), other.settled()]);
    expect(same.report()).toMatchObject({ compared: 1, mismatches: 0 });
    expect(other.report()).toMatchObject({ compared: 1, mismatches: 1 });
  });

  it('counts a candidate that throws where the control answered as its error, and lets ignore pass a change in flight', async () => {
    const failing = experiment(async () => {
      throw new Error('customer is down');
    });
    expect((await failing.run(1, { mode: 'shadow', candidatePercent: 0 })).name).toBe('Customer 1');
    const lagging = new AsyncExperiment<number, Profile>({
      name: 'lagging',
      control: async (id) => ({ id, name: 'New name', updatedAt: now - 1_000 }),
      candidate: async (id) => ({ id, name: 'Old name', updatedAt: now - 90_000 }),
      registry: new Registry(),
      logger,
      ignore: (control) => control.updatedAt > now - 5_000,
    });
    await lagging.run(1, { mode: 'shadow', candidatePercent: 0 });
    await Promise.all([failing.settled(), lagging.settled()]);
    expect(failing.report()).toMatchObject({ candidate_errors: 1, mismatches: 0 });
    expect(lagging.report()).toMatchObject({ compared: 1, ignored: 1, mismatches: 0, recent: [] });
  });

  it('does not compare a run whose candidate or control was shed under load, and counts it as shed', async () => {
    const shedding = experiment(async () => {
      throw new OverloadedError(
        'GATEWAY.OVERLOADED',
        'too many calls to pricing in flight; try again shortly',
      );
    });
    for (const id of [1, 2, 3]) await shedding.run(id, { mode: 'shadow', candidatePercent: 0 });
    await shedding.settled();
    expect(shedding.report()).toMatchObject({
      compared: 0,
      shed: 3,
      candidate_errors: 0,
      mismatches: 0,
      recent: [],
    });
    const controlShed = new AsyncExperiment<number, Profile>({
      name: 'control-shed',
      control: async () => {
        throw new OverloadedError(
          'GATEWAY.OVERLOADED',
          'too many calls to legacy in flight; try again shortly',
        );
      },
      candidate: monolith,
      registry: new Registry(),
      logger,
    });
    await expect(controlShed.run(1, { mode: 'shadow', candidatePercent: 0 })).rejects.toThrow(
      OverloadedError,
    );
    await controlShed.settled();
    expect(controlShed.report()).toMatchObject({ compared: 0, shed: 1, mismatches: 0 });
  });

  it('lets the candidate answer alone for its share of subjects, the same subjects every time', async () => {
    const calls: string[] = [];
    const split = new AsyncExperiment<string, string>({
      name: 'split',
      control: async (subject) => {
        calls.push(`control ${subject}`);
        return subject;
      },
      candidate: async (subject) => {
        calls.push(`candidate ${subject}`);
        return subject;
      },
      registry: new Registry(),
      logger,
    });
    const subjects = Array.from({ length: 200 }, (_, n) => `customer-${n}`);
    for (const subject of subjects)
      await split.run(subject, { mode: 'candidate', candidatePercent: 10, subject });
    await split.settled();
    const alone = subjects.filter((subject) => bucketOf(subject) < 10);
    expect(split.report()).toMatchObject({
      mode: 'candidate',
      candidate_percent: 10,
      candidate_answers: alone.length,
      compared: subjects.length - alone.length,
      mismatches: 0,
    });
    for (const subject of alone) expect(calls).not.toContain(`control ${subject}`);
    await split.run('x', { mode: 'control', candidatePercent: 0, subject: 'x' });
    expect(calls.at(-1)).toBe('control x');
  });
});
