import {
  CircuitState,
  type FailureReason,
  type IBackoff,
  type IBackoffFactory,
  type IBreaker,
  type IHalfOpenAfterBackoffContext,
} from 'cockatiel';

export interface WindowedBreakerOptions {
  /** Failures within `windowMs` that open the circuit. */
  threshold: number;
  windowMs: number;
  /** Calls that must succeed after half-open before a failure no longer reopens at once. */
  trialCalls: number;
  /** How long the circuit stays open the first time; doubled each time the trials fail. */
  openMs: number;
  /** The longest it stays open. */
  maxOpenMs: number;
  /**
   * A failed trial that never reached the dependency (connection refused: nothing listens yet).
   * It cost the dependency nothing, so the circuit is tried again after `refusedProbeMs` instead of
   * a doubled open time: a restarting dependency is back in use within that of being ready.
   */
  refused?: (reason: FailureReason<unknown>) => boolean;
  refusedProbeMs?: number;
  now?: () => number;
}

/**
 * "Open after N failures in T" with a half-open probation of `trialCalls` calls. cockatiel ships
 * consecutive, count and sampling breakers but none counts failures in a time window, and its
 * half-open state lets one call through: the first trial is cockatiel's, the other trials are a
 * probation here, during which any failure reopens the circuit straight away.
 *
 * It also says how long the circuit stays open (`halfOpenAfter`): `openMs` the first time, doubled
 * each time it reopens before its trial calls all succeeded, up to `maxOpenMs`. A dependency that
 * restarts in two seconds is tried again after one, not after thirty. (cockatiel restarts its own
 * backoff whenever the circuit opens from "closed", which is where the probation reopens it, so
 * the count of reopenings lives here.)
 */
export class WindowedBreaker implements IBreaker {
  private failures: number[] = [];
  private probation = 0;
  /** Times opened since the last full recovery (all trial calls succeeded). */
  private opensInARow = 0;
  /** Times the open time was doubled since the last full recovery. */
  private doublings = 0;
  private readonly now: () => number;
  private readonly options: WindowedBreakerOptions;

  constructor(options: WindowedBreakerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  get state(): unknown {
    return {
      failures: [...this.failures],
      probation: this.probation,
      opensInARow: this.opensInARow,
      doublings: this.doublings,
    };
  }

  set state(value: unknown) {
    const saved = value as {
      failures?: number[];
      probation?: number;
      opensInARow?: number;
      doublings?: number;
    };
    this.failures = saved.failures ?? [];
    this.probation = saved.probation ?? 0;
    this.opensInARow = saved.opensInARow ?? 0;
    this.doublings = saved.doublings ?? 0;
  }

  /** How long the circuit stays open after an opening that is not a refused trial. */
  get openDurationMs(): number {
    return Math.min(this.options.maxOpenMs, this.options.openMs * 2 ** Math.min(this.doublings, 30));
  }

  /** cockatiel's `halfOpenAfter`: asked once each time the circuit opens, with what opened it. */
  readonly halfOpenAfter: IBackoffFactory<IHalfOpenAfterBackoffContext> = {
    next: (context) => this.#opened(context),
  };

  #opened(context: IHalfOpenAfterBackoffContext): IBackoff<IHalfOpenAfterBackoffContext> {
    const reopened = this.opensInARow > 1;
    const refused = reopened && this.options.refused?.(context.result) === true;
    if (reopened && !refused) this.doublings += 1;
    const duration = refused
      ? Math.min(this.openDurationMs, this.options.refusedProbeMs ?? this.options.openMs)
      : this.openDurationMs;
    return { duration, next: (next) => this.#opened(next) };
  }

  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) {
      this.failures = [];
      this.probation = this.options.trialCalls - 1;
    } else if (this.probation > 0) {
      this.probation -= 1;
    } else {
      return;
    }
    if (this.probation === 0) this.#recovered();
  }

  failure(state: CircuitState): boolean {
    if (state === CircuitState.HalfOpen || this.probation > 0) {
      this.failures = [];
      this.probation = 0;
      this.opensInARow += 1;
      return true;
    }
    const now = this.now();
    this.failures = this.failures.filter((at) => now - at < this.options.windowMs);
    this.failures.push(now);
    if (this.failures.length < this.options.threshold) return false;
    this.failures = [];
    this.opensInARow = 1;
    this.doublings = 0;
    return true;
  }

  #recovered(): void {
    this.opensInARow = 0;
    this.doublings = 0;
  }
}
