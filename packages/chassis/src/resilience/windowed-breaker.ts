import { CircuitState, type IBreaker } from 'cockatiel';

export interface WindowedBreakerOptions {
  /** Failures within `windowMs` that open the circuit. */
  threshold: number;
  windowMs: number;
  /** Calls that must succeed after half-open before a failure no longer reopens at once. */
  trialCalls: number;
  now?: () => number;
}

/**
 * "Open after N failures in T" with a half-open probation of `trialCalls` calls. cockatiel ships
 * consecutive, count and sampling breakers but none counts failures in a time window, and its
 * half-open state lets one call through: the first trial is cockatiel's, the other trials are a
 * probation here, during which any failure reopens the circuit straight away.
 */
export class WindowedBreaker implements IBreaker {
  private failures: number[] = [];
  private probation = 0;
  private readonly now: () => number;
  private readonly options: WindowedBreakerOptions;

  constructor(options: WindowedBreakerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  get state(): unknown {
    return { failures: [...this.failures], probation: this.probation };
  }

  set state(value: unknown) {
    const saved = value as { failures?: number[]; probation?: number };
    this.failures = saved.failures ?? [];
    this.probation = saved.probation ?? 0;
  }

  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) {
      this.failures = [];
      this.probation = this.options.trialCalls - 1;
    } else if (this.probation > 0) {
      this.probation -= 1;
    }
  }

  failure(state: CircuitState): boolean {
    if (state === CircuitState.HalfOpen || this.probation > 0) {
      this.failures = [];
      this.probation = 0;
      return true;
    }
    const now = this.now();
    this.failures = this.failures.filter((at) => now - at < this.options.windowMs);
    this.failures.push(now);
    if (this.failures.length < this.options.threshold) return false;
    this.failures = [];
    return true;
  }
}
