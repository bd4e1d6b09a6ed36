import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logging/create-logger.ts';

/**
 * Which implementation answers (branch by abstraction):
 * - `control`: the old one only;
 * - `shadow`: both run, the old one's answer is returned, and every difference is reported;
 * - `candidate`: the new one answers for the share of subjects in `candidatePercent` (by a hash of
 *   the subject, so a customer always gets the same one; a run without a subject only at 100 %);
 *   the others are served in shadow.
 */
export type ExperimentMode = 'control' | 'shadow' | 'candidate';

/** One difference between the two implementations, as the diff log keeps it. */
export interface Mismatch {
  at: string;
  subject: string | undefined;
  input: unknown;
  control: unknown;
  candidate: unknown;
}

export interface ExperimentSettings<Input, Output> {
  name: string;
  control: (input: Input) => Output;
  candidate: (input: Input) => Output;
  mode: ExperimentMode;
  /** With `candidate`: the share of subjects (0–100) the candidate answers for. */
  candidatePercent: number;
  registry: Registry;
  logger: Logger;
  /** Differences kept for the diff log (the oldest goes first). */
  keep?: number;
  /** How the diff log shows an input (default: as it is; a Map, say, needs turning into JSON). */
  describeInput?: (input: Input) => unknown;
}

export interface ExperimentReport {
  name: string;
  mode: ExperimentMode;
  candidate_percent: number;
  /** Runs in shadow (both compared), and of those, how many differed or saw the candidate throw. */
  compared: number;
  mismatches: number;
  candidate_errors: number;
  /** Answers the candidate gave alone (its share in `candidate` mode). */
  candidate_answers: number;
  recent: Mismatch[];
}

/** Which of 100 buckets a subject falls in: the same one on every instance and every run. */
export function bucketOf(subject: string): number {
  return createHash('sha256').update(subject).digest().readUInt32BE(0) % 100;
}

/** An error as the diff log shows it: its class and message, never its stack. */
const describeError = (error: unknown) =>
  error instanceof Error ? { error: error.name, message: error.message } : { error: String(error) };

/**
 * GitHub Scientist's experiment for a pure, synchronous behaviour: runs the old implementation (the
 * control) and, in shadow, the new one (the candidate) on the same input, returns the control's
 * answer (or throws its error), and counts and logs every difference — a different answer, or the
 * candidate throwing where the control did not (or with another error). The candidate can never
 * change what a caller gets in shadow: its errors are caught and reported.
 *
 * Our own rather than the `scientist` package: that one brings bluebird and underscore into every
 * bundle, has no types, and leaves the per-subject rollout and the diff log to us anyway; what is
 * left is a comparison (`util.isDeepStrictEqual`), a counter and a bounded list.
 */
export class Experiment<Input, Output> {
  readonly #settings: ExperimentSettings<Input, Output>;
  readonly #runs: Counter<'experiment' | 'outcome'>;
  readonly #recent: Mismatch[] = [];
  #counts = { compared: 0, mismatches: 0, candidateErrors: 0, candidateAnswers: 0 };

  constructor(settings: ExperimentSettings<Input, Output>) {
    if (!(settings.candidatePercent >= 0 && settings.candidatePercent <= 100))
      throw new RangeError(`candidatePercent must be 0–100, got ${settings.candidatePercent}`);
    this.#settings = settings;
    this.#runs = runsCounter(settings.registry);
  }

  run(input: Input, subject?: string): Output {
    const { mode, candidatePercent, control, candidate, name } = this.#settings;
    if (mode === 'control') return control(input);
    // A run with no subject (an anonymous caller) is in the candidate's share only once it is 100 %.
    const inShare = subject === undefined ? candidatePercent === 100 : bucketOf(subject) < candidatePercent;
    if (mode === 'candidate' && inShare) {
      this.#counts.candidateAnswers += 1;
      this.#runs.inc({ experiment: name, outcome: 'candidate_answered' });
      return candidate(input);
    }
    const expected = attempt(() => control(input));
    const received = attempt(() => candidate(input));
    this.#compare(input, subject, expected, received);
    if (!expected.ok) throw expected.error;
    return expected.value;
  }

  report(): ExperimentReport {
    const { name, mode, candidatePercent } = this.#settings;
    return {
      name,
      mode,
      candidate_percent: candidatePercent,
      compared: this.#counts.compared,
      mismatches: this.#counts.mismatches,
      candidate_errors: this.#counts.candidateErrors,
      candidate_answers: this.#counts.candidateAnswers,
      recent: [...this.#recent].reverse(),
    };
  }

  #compare(
    input: Input,
    subject: string | undefined,
    expected: Attempt<Output>,
    received: Attempt<Output>,
  ): void {
    const { name, logger } = this.#settings;
    this.#counts.compared += 1;
    const same =
      expected.ok && received.ok
        ? isDeepStrictEqual(expected.value, received.value)
        : !expected.ok &&
          !received.ok &&
          isDeepStrictEqual(describeError(expected.error), describeError(received.error));
    if (same) {
      this.#runs.inc({ experiment: name, outcome: 'match' });
      return;
    }
    const candidateThrew = !received.ok && expected.ok;
    if (candidateThrew) this.#counts.candidateErrors += 1;
    else this.#counts.mismatches += 1;
    this.#runs.inc({ experiment: name, outcome: candidateThrew ? 'candidate_error' : 'mismatch' });
    const mismatch: Mismatch = {
      at: new Date().toISOString(),
      subject,
      input: this.#settings.describeInput ? this.#settings.describeInput(input) : input,
      control: expected.ok ? expected.value : describeError(expected.error),
      candidate: received.ok ? received.value : describeError(received.error),
    };
    this.#recent.push(mismatch);
    if (this.#recent.length > (this.#settings.keep ?? 100)) this.#recent.shift();
    logger.warn({ experiment: name, subject }, `experiment ${name}: the candidate differed from the control`);
  }
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: unknown };

function attempt<T>(run: () => T): Attempt<T> {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    return { ok: false, error };
  }
}

const counters = new WeakMap<Registry, Counter<'experiment' | 'outcome'>>();

function runsCounter(registry: Registry): Counter<'experiment' | 'outcome'> {
  let counter = counters.get(registry);
  if (!counter) {
    counter = new Counter({
      name: 'experiment_runs_total',
      help: 'Runs of a branch-by-abstraction experiment, by outcome: match, mismatch, candidate_error (compared in shadow) or candidate_answered',
      labelNames: ['experiment', 'outcome'] as const,
      registers: [registry],
    });
    counters.set(registry, counter);
  }
  return counter;
}
