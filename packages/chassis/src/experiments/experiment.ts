import { createHash } from 'node:crypto';
import {
  type Attempt,
  checkPercent,
  type ExperimentMode,
  ExperimentRecord,
  type ExperimentReport,
  type RecordSettings,
} from './experiment-record.ts';

export type { ExperimentMode, ExperimentReport, Mismatch } from './experiment-record.ts';

export interface ExperimentSettings<Input, Output> extends RecordSettings<Input, Output> {
  control: (input: Input) => Output;
  candidate: (input: Input) => Output;
  mode: ExperimentMode;
  /** With `candidate`: the share of subjects (0–100) the candidate answers for. */
  candidatePercent: number;
}

/** Which of 100 buckets a subject falls in: the same one on every instance and every run. */
export function bucketOf(subject: string): number {
  return createHash('sha256').update(subject).digest().readUInt32BE(0) % 100;
}

/** Whether the candidate answers for `subject`: one without a subject (an anonymous caller) only at 100 %. */
export function inCandidateShare(subject: string | undefined, candidatePercent: number): boolean {
  return subject === undefined ? candidatePercent === 100 : bucketOf(subject) < candidatePercent;
}

/** What experiments have in common for their operators: a report (see `experimentRoutes`). */
export interface ReportingExperiment {
  report(): ExperimentReport;
}

/**
 * GitHub Scientist's experiment for a pure, synchronous behaviour: runs the old implementation (the
 * control) and, in shadow, the new one (the candidate) on the same input, returns the control's
 * answer (or throws its error), and counts and logs every difference — a different answer, or the
 * candidate throwing where the control did not (or with another error). The candidate can never
 * change what a caller gets in shadow: its errors are caught and reported. (`AsyncExperiment` is
 * the same for calls to other processes.)
 *
 * Our own rather than the `scientist` package: that one brings bluebird and underscore into every
 * bundle, has no types, and leaves the per-subject rollout and the diff log to us anyway; what is
 * left is a comparison (`util.isDeepStrictEqual`), a counter and a bounded list.
 */
export class Experiment<Input, Output> implements ReportingExperiment {
  readonly #settings: ExperimentSettings<Input, Output>;
  readonly #record: ExperimentRecord<Input, Output>;

  constructor(settings: ExperimentSettings<Input, Output>) {
    checkPercent(settings.candidatePercent);
    this.#settings = settings;
    this.#record = new ExperimentRecord(settings);
  }

  run(input: Input, subject?: string): Output {
    const { mode, candidatePercent, control, candidate } = this.#settings;
    if (mode === 'control') return control(input);
    if (mode === 'candidate' && inCandidateShare(subject, candidatePercent)) {
      this.#record.candidateAnswered();
      return candidate(input);
    }
    const expected = attempt(() => control(input));
    const received = attempt(() => candidate(input));
    this.#record.compare(input, subject, expected, received);
    if (!expected.ok) throw expected.error;
    return expected.value;
  }

  report(): ExperimentReport {
    return this.#record.report(this.#settings.mode, this.#settings.candidatePercent);
  }
}

function attempt<T>(run: () => T): Attempt<T> {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    return { ok: false, error };
  }
}
