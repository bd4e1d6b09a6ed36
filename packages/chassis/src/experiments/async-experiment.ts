import type { ExperimentMode, ReportingExperiment } from './experiment.ts';
import { inCandidateShare } from './experiment.ts';
import {
  type Attempt,
  checkPercent,
  ExperimentRecord,
  type ExperimentReport,
  type RecordSettings,
} from './experiment-record.ts';

export interface AsyncExperimentSettings<Input, Output> extends RecordSettings<Input, Output> {
  control: (input: Input) => Promise<Output>;
  candidate: (input: Input) => Promise<Output>;
}

/** How one run is made: given per run, so a setting that is reloaded (a routing table) applies at once. */
export interface AsyncRunSettings {
  mode: ExperimentMode;
  /** With `candidate`: the share of subjects (0–100) the candidate answers for. */
  candidatePercent: number;
  subject?: string | undefined;
}

/**
 * `Experiment` for implementations that call other processes (the monolith and the services at the
 * edge): in shadow both are called at once and the control's answer goes back as soon as it is
 * there; the candidate's is compared when it comes, so a slow or failing candidate costs the caller
 * nothing. The mode and share are given with each run.
 */
export class AsyncExperiment<Input, Output> implements ReportingExperiment {
  readonly #settings: AsyncExperimentSettings<Input, Output>;
  readonly #record: ExperimentRecord<Input, Output>;
  #last: Pick<AsyncRunSettings, 'mode' | 'candidatePercent'> = { mode: 'control', candidatePercent: 0 };
  /** Comparisons still waiting for their candidate (tests wait for them; nothing else needs to). */
  readonly #pending = new Set<Promise<void>>();

  constructor(settings: AsyncExperimentSettings<Input, Output>) {
    this.#settings = settings;
    this.#record = new ExperimentRecord(settings);
  }

  async run(input: Input, run: AsyncRunSettings): Promise<Output> {
    checkPercent(run.candidatePercent);
    this.#last = { mode: run.mode, candidatePercent: run.candidatePercent };
    const { control, candidate } = this.#settings;
    if (run.mode === 'control') return control(input);
    if (run.mode === 'candidate' && inCandidateShare(run.subject, run.candidatePercent)) {
      this.#record.candidateAnswered();
      return candidate(input);
    }
    const received = settle(() => candidate(input));
    const expected = await settle(() => control(input));
    const compared = received.then((attempt) => this.#record.compare(input, run.subject, expected, attempt));
    this.#pending.add(compared);
    void compared.finally(() => this.#pending.delete(compared));
    if (!expected.ok) throw expected.error;
    return expected.value;
  }

  /** Resolves once every comparison started so far is recorded. */
  async settled(): Promise<void> {
    await Promise.all(this.#pending);
  }

  report(): ExperimentReport {
    return this.#record.report(this.#last.mode, this.#last.candidatePercent);
  }
}

/** Starts `call`; never rejects (a failure, thrown at once or later, is part of what is compared). */
function settle<T>(call: () => Promise<T>): Promise<Attempt<T>> {
  let promise: Promise<T>;
  try {
    promise = call();
  } catch (error) {
    promise = Promise.reject(error);
  }
  return promise.then(
    (value): Attempt<T> => ({ ok: true, value }),
    (error: unknown): Attempt<T> => ({ ok: false, error }),
  );
}
