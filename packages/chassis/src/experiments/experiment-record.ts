import { isDeepStrictEqual } from 'node:util';
import { Counter, type Registry } from 'prom-client';
import { isAppError, OverloadedError } from '../errors/app-error.ts';
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

export interface RecordSettings<Input, Output> {
  name: string;
  registry: Registry;
  logger: Logger;
  /** Differences kept for the diff log (the oldest goes first). */
  keep?: number;
  /** How the diff log shows an input (default: as it is; a Map, say, needs turning into JSON). */
  describeInput?: (input: Input) => unknown;
  /**
   * A difference known to be no fault of the candidate (Scientist's `ignore`), e.g. data still on
   * its way to the new side: counted as `ignored`, not kept in the diff log.
   */
  ignore?: (control: Output, candidate: Output) => boolean;
}

export interface ExperimentReport {
  name: string;
  mode: ExperimentMode;
  candidate_percent: number;
  /** Runs in shadow (both compared), and of those, how many differed or saw the candidate throw. */
  compared: number;
  mismatches: number;
  candidate_errors: number;
  /** Differences the experiment's `ignore` let pass (e.g. a change still on its way). */
  ignored: number;
  /**
   * Runs not compared because one side was refused by load shedding (an `OverloadedError`: a
   * concurrency limit or bulkhead turned the call away before it ran), which says nothing of the
   * candidate's correctness.
   */
  shed: number;
  /** Answers the candidate gave alone (its share in `candidate` mode). */
  candidate_answers: number;
  recent: Mismatch[];
}

export type Attempt<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function checkPercent(candidatePercent: number): void {
  if (!(candidatePercent >= 0 && candidatePercent <= 100))
    throw new RangeError(`candidatePercent must be 0–100, got ${candidatePercent}`);
}

/** A side turned away by load shedding before it ran: nothing to compare. */
const wasShed = (attempt: Attempt<unknown>): boolean =>
  !attempt.ok && attempt.error instanceof OverloadedError;

/** An error as the diff log shows it: its class, its code if it has one, and message; never its stack. */
const describeError = (error: unknown) =>
  error instanceof Error
    ? { error: error.name, ...(isAppError(error) ? { code: error.code } : {}), message: error.message }
    : { error: String(error) };

/**
 * What an experiment saw, sync or async alike: the comparison of the two attempts, the counts, the
 * `experiment_runs_total` counter and the bounded diff log.
 */
export class ExperimentRecord<Input, Output> {
  readonly #settings: RecordSettings<Input, Output>;
  readonly #runs: Counter<'experiment' | 'outcome'>;
  readonly #recent: Mismatch[] = [];
  #counts = { compared: 0, mismatches: 0, candidateErrors: 0, ignored: 0, shed: 0, candidateAnswers: 0 };

  constructor(settings: RecordSettings<Input, Output>) {
    this.#settings = settings;
    this.#runs = runsCounter(settings.registry);
  }

  candidateAnswered(): void {
    this.#counts.candidateAnswers += 1;
    this.#runs.inc({ experiment: this.#settings.name, outcome: 'candidate_answered' });
  }

  compare(
    input: Input,
    subject: string | undefined,
    expected: Attempt<Output>,
    received: Attempt<Output>,
  ): void {
    const { name, logger, ignore } = this.#settings;
    if (wasShed(expected) || wasShed(received)) {
      this.#counts.shed += 1;
      this.#runs.inc({ experiment: name, outcome: 'shed' });
      return;
    }
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
    if (expected.ok && received.ok && ignore?.(expected.value, received.value)) {
      this.#counts.ignored += 1;
      this.#runs.inc({ experiment: name, outcome: 'ignored' });
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

  report(mode: ExperimentMode, candidatePercent: number): ExperimentReport {
    return {
      name: this.#settings.name,
      mode,
      candidate_percent: candidatePercent,
      compared: this.#counts.compared,
      mismatches: this.#counts.mismatches,
      candidate_errors: this.#counts.candidateErrors,
      ignored: this.#counts.ignored,
      shed: this.#counts.shed,
      candidate_answers: this.#counts.candidateAnswers,
      recent: [...this.#recent].reverse(),
    };
  }
}

const counters = new WeakMap<Registry, Counter<'experiment' | 'outcome'>>();

function runsCounter(registry: Registry): Counter<'experiment' | 'outcome'> {
  let counter = counters.get(registry);
  if (!counter) {
    counter = new Counter({
      name: 'experiment_runs_total',
      help: 'Runs of a branch-by-abstraction experiment, by outcome: match, mismatch, candidate_error, ignored (compared in shadow), shed (not compared: a side refused by load shedding) or candidate_answered',
      labelNames: ['experiment', 'outcome'] as const,
      registers: [registry],
    });
    counters.set(registry, counter);
  }
  return counter;
}
