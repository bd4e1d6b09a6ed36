import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging/create-logger.ts';
import { parsePrometheusText, sampleValue } from '../testing/prometheus-text.ts';
import { bucketOf, Experiment, type ExperimentMode } from './experiment.ts';

const logger = createLogger({ service: 'experiment-test', level: 'silent' });

function experiment(
  mode: ExperimentMode,
  candidate: (n: number) => number,
  options: { percent?: number; control?: (n: number) => number; keep?: number } = {},
) {
  const registry = new Registry();
  const calls = { control: 0, candidate: 0 };
  const subject = new Experiment<number, number>({
    name: 'double',
    control: (n) => {
      calls.control += 1;
      return (options.control ?? ((x: number) => x * 2))(n);
    },
    candidate: (n) => {
      calls.candidate += 1;
      return candidate(n);
    },
    mode,
    candidatePercent: options.percent ?? 100,
    registry,
    logger,
    ...(options.keep === undefined ? {} : { keep: options.keep }),
  });
  const runs = async (outcome: string) =>
    sampleValue(parsePrometheusText(await registry.metrics()), 'experiment_runs_total', { outcome }) ?? 0;
  return { subject, calls, runs };
}

describe('Experiment (branch by abstraction, as GitHub Scientist)', () => {
  it('in shadow runs both, answers with the control, and keeps every difference', async () => {
    const { subject, calls, runs } = experiment('shadow', (n) => (n === 3 ? 7 : n * 2), { keep: 2 });
    expect([1, 2, 3, 4, 3, 3].map((n) => subject.run(n, `customer-${n}`))).toEqual([2, 4, 6, 8, 6, 6]);
    expect(calls).toEqual({ control: 6, candidate: 6 });
    const report = subject.report();
    expect(report).toMatchObject({ mode: 'shadow', compared: 6, mismatches: 3, candidate_errors: 0 });
    // The latest first, and no more than it keeps.
    expect(report.recent).toHaveLength(2);
    expect(report.recent[0]).toMatchObject({ subject: 'customer-3', input: 3, control: 6, candidate: 7 });
    expect([await runs('match'), await runs('mismatch')]).toEqual([3, 3]);
  });

  it('never lets the candidate change the answer: its errors are reported, the control’s are thrown', () => {
    const { subject } = experiment('shadow', () => {
      throw new TypeError('not implemented');
    });
    expect(subject.run(5)).toBe(10);
    expect(subject.report()).toMatchObject({ candidate_errors: 1, mismatches: 0 });
    expect(subject.report().recent[0]?.candidate).toEqual({ error: 'TypeError', message: 'not implemented' });
    const failing = experiment('shadow', () => 0, {
      control: () => {
        throw new RangeError('too big');
      },
    });
    expect(() => failing.subject.run(1)).toThrow('too big');
    expect(failing.subject.report().mismatches).toBe(1);
  });

  it('in control runs the old implementation only', () => {
    const { subject, calls } = experiment('control', () => 0);
    expect(subject.run(4)).toBe(8);
    expect(calls).toEqual({ control: 1, candidate: 0 });
    expect(subject.report().compared).toBe(0);
  });

  it('as candidate answers with the new one for its share of subjects, the same subjects every time, the rest in shadow', () => {
    const { subject, calls } = experiment('candidate', (n) => n * 2, { percent: 30 });
    const customers = Array.from({ length: 1_000 }, (_, i) => `cus_${i}`);
    for (const customer of customers) subject.run(1, customer);
    const answered = subject.report().candidate_answers;
    expect(answered).toBe(customers.filter((customer) => bucketOf(customer) < 30).length);
    expect(answered).toBeGreaterThan(240);
    expect(answered).toBeLessThan(360);
    expect(subject.report().compared).toBe(1_000 - answered);
    expect(calls.candidate).toBe(1_000);
    // A subject's bucket is a function of the subject alone.
    expect(bucketOf('cus_7')).toBe(bucketOf('cus_7'));
    // No subject (an anonymous quote): never the candidate's answer, compared instead.
    subject.run(1);
    expect(subject.report().compared).toBe(1_000 - answered + 1);
  });

  it('at 100 % the old implementation is never called: it can be removed', () => {
    const { subject, calls } = experiment('candidate', (n) => n * 2, {
      percent: 100,
      control: () => {
        throw new Error('v1 is gone');
      },
    });
    for (let i = 0; i < 100; i += 1) expect(subject.run(i, `cus_${i}`)).toBe(i * 2);
    expect(subject.run(7)).toBe(14);
    expect(calls.control).toBe(0);
  });

  it('refuses a share outside 0–100', () => {
    expect(() => experiment('candidate', (n) => n, { percent: 101 })).toThrow(/0–100/);
  });
});
