/**
 * Client-side load balancing over the instances of one dependency, with outlier ejection as
 * Envoy's outlier detection (and Istio's `outlierDetection`) does it: an instance that fails
 * `consecutiveFailures` calls in a row, or that refuses a connection (nothing listens: the process
 * is gone), is taken out of the pool for an ejection time that grows with each ejection; when the
 * time is over it is back in the pool, and its next answer clears its record. When every instance
 * is ejected, all are used ("panic", as Envoy does), so a dependency whose instances all failed
 * once is still tried.
 *
 * Picking is "power of two choices" over outstanding calls: two instances at random, the one with
 * fewer calls in flight (Envoy's LEAST_REQUEST). It spreads evenly when all are alike and away
 * from a slow instance when one is not.
 *
 * Written here because gRPC's own balancing lives in @grpc/grpc-js channels, which Connect's
 * transports do not use; no npm library balances over Connect transports.
 */
export interface OutlierSettings {
  /** Failures in a row (unavailable, deadline, internal) that eject an instance. Envoy: 5. */
  consecutiveFailures: number;
  /** How long the first ejection lasts; each further one lasts this times the number of ejections. */
  baseEjectionMs: number;
  /** The longest ejection. */
  maxEjectionMs: number;
  /**
   * How long an instance that refused a connection is ejected the first time (doubled while it keeps
   * refusing): short, since a refused probe costs nothing and a restarted process is back in a second.
   */
  unreachableEjectionMs: number;
}

export const defaultOutlierSettings: OutlierSettings = {
  consecutiveFailures: 5,
  baseEjectionMs: 5_000,
  maxEjectionMs: 60_000,
  unreachableEjectionMs: 250,
};

/** How one call to an instance ended, as far as the instance's health goes (`cancelled`: says nothing). */
export type CallOutcome = 'answered' | 'failed' | 'unreachable' | 'cancelled';

interface InstanceState {
  readonly address: string;
  /** Its share of calls relative to the others' (1 each unless a canary release set them). */
  weight: number;
  outstanding: number;
  failuresInARow: number;
  ejections: number;
  unreachableInARow: number;
  ejectedUntil: number;
}

/** A call to the instance `address`: report how it ended, once. */
export interface InstanceLease {
  readonly address: string;
  end: (outcome: CallOutcome) => void;
}

export interface EjectionEvent {
  address: string;
  reason: 'failures' | 'unreachable';
  forMs: number;
}

export class InstanceBalancer {
  readonly #settings: OutlierSettings;
  readonly #now: () => number;
  readonly #random: () => number;
  #instances = new Map<string, InstanceState>();
  /** Called on every ejection (for metrics and logs). */
  onEject: (event: EjectionEvent) => void = () => undefined;

  constructor(
    settings: Partial<OutlierSettings> = {},
    clock: { now?: () => number; random?: () => number } = {},
  ) {
    this.#settings = { ...defaultOutlierSettings, ...settings };
    this.#now = clock.now ?? Date.now;
    this.#random = clock.random ?? Math.random;
  }

  /**
   * The instances to balance over now, with their weights (equal when not given); known ones keep
   * their record, gone ones are forgotten.
   */
  update(addresses: readonly string[], weightOf: (address: string) => number = () => 1): void {
    const next = new Map<string, InstanceState>();
    for (const address of addresses) {
      const state = this.#instances.get(address) ?? {
        address,
        weight: 1,
        outstanding: 0,
        failuresInARow: 0,
        ejections: 0,
        unreachableInARow: 0,
        ejectedUntil: 0,
      };
      state.weight = Math.max(0, weightOf(address));
      next.set(address, state);
    }
    this.#instances = next;
  }

  /** Instances in the pool (not ejected) and in all. */
  get counts(): { healthy: number; total: number } {
    const now = this.#now();
    let healthy = 0;
    for (const instance of this.#instances.values()) if (instance.ejectedUntil <= now) healthy += 1;
    return { healthy, total: this.#instances.size };
  }

  /**
   * An instance for the next call, other than those in `tried` (already refused this call) while
   * any other is left; undefined when there is none at all.
   */
  pick(
    tried: ReadonlySet<string> = new Set(),
    prefer?: (address: string) => boolean,
  ): InstanceLease | undefined {
    const now = this.#now();
    const untried = [...this.#instances.values()].filter((instance) => !tried.has(instance.address));
    if (untried.length === 0) return undefined;
    const healthy = untried.filter((instance) => instance.ejectedUntil <= now);
    // Instances `prefer` names (a tester's request: the canary) when one is in the pool, whatever its weight.
    const preferred = prefer ? healthy.filter((instance) => prefer(instance.address)) : [];
    const inPool = preferred.length > 0 ? preferred : healthy;
    // Panic: every instance left is ejected; try the one whose ejection ends first.
    const candidates =
      inPool.length > 0 ? inPool : [untried.reduce((a, b) => (b.ejectedUntil < a.ejectedUntil ? b : a))];
    const chosen = candidates.every((candidate) => candidate.weight === candidates[0]?.weight)
      ? this.#twoChoices(candidates)
      : this.#weighted(candidates);
    chosen.outstanding += 1;
    let ended = false;
    return {
      address: chosen.address,
      end: (outcome) => {
        if (ended) return;
        ended = true;
        chosen.outstanding -= 1;
        this.#record(chosen, outcome);
      },
    };
  }

  /**
   * Weights differ (a canary release splits the calls): an instance at random in proportion to its
   * weight, so the canary gets its share whatever its load; one of weight 0 only when it is the
   * only one left.
   */
  #weighted(candidates: InstanceState[]): InstanceState {
    const total = candidates.reduce((sum, candidate) => sum + candidate.weight, 0);
    let draw = this.#random() * total;
    for (const candidate of candidates) {
      draw -= candidate.weight;
      if (draw < 0) return candidate;
    }
    return candidates.find((candidate) => candidate.weight > 0) ?? (candidates[0] as InstanceState);
  }

  #twoChoices(candidates: InstanceState[]): InstanceState {
    const first = candidates[Math.floor(this.#random() * candidates.length)] as InstanceState;
    if (candidates.length === 1) return first;
    let second = candidates[Math.floor(this.#random() * (candidates.length - 1))] as InstanceState;
    if (second === first) second = candidates[candidates.length - 1] as InstanceState;
    return second.outstanding < first.outstanding ? second : first;
  }

  #record(instance: InstanceState, outcome: CallOutcome): void {
    const settings = this.#settings;
    if (outcome === 'cancelled') return;
    if (outcome === 'answered') {
      instance.failuresInARow = 0;
      instance.unreachableInARow = 0;
      instance.ejections = 0;
      return;
    }
    if (outcome === 'unreachable') {
      instance.unreachableInARow += 1;
      const forMs = Math.min(
        settings.maxEjectionMs,
        settings.unreachableEjectionMs * 2 ** Math.min(instance.unreachableInARow - 1, 20),
      );
      this.#eject(instance, 'unreachable', forMs);
      return;
    }
    instance.failuresInARow += 1;
    if (instance.failuresInARow < settings.consecutiveFailures) return;
    instance.failuresInARow = 0;
    instance.ejections += 1;
    this.#eject(
      instance,
      'failures',
      Math.min(settings.maxEjectionMs, settings.baseEjectionMs * instance.ejections),
    );
  }

  #eject(instance: InstanceState, reason: EjectionEvent['reason'], forMs: number): void {
    instance.ejectedUntil = this.#now() + forMs;
    this.onEject({ address: instance.address, reason, forMs });
  }
}
