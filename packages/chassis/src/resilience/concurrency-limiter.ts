import { performance } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import { AdaptiveLimit, type AdaptiveLimitSettings } from './adaptive-limit.ts';

/** A call admitted by the limiter: say how it ended, once (later calls are ignored). */
export interface LimitPermit {
  /** It finished normally: its latency is a sample of the limit. */
  success: () => void;
  /** It timed out or was refused downstream: the limit backs off. */
  dropped: () => void;
  /** It ended in a way that says nothing about load (a client error, a replay): no sample. */
  ignore: () => void;
  /** When it was admitted (performance.now()). */
  readonly startedAt: number;
}

export interface LimiterMetrics {
  limit: Gauge<'limiter'>;
  inFlight: Gauge<'limiter'>;
  refusals: Counter<'limiter'>;
  rtt: Gauge<'limiter' | 'measure'>;
}

/** The limiters' metric families, one set per registry (several limiters share it by label). */
export function limiterMetrics(registry: Registry): LimiterMetrics {
  const existing = registry.getSingleMetric('concurrency_limit') as Gauge<'limiter'> | undefined;
  if (existing)
    return {
      limit: existing,
      inFlight: registry.getSingleMetric('concurrency_limit_in_flight') as Gauge<'limiter'>,
      refusals: registry.getSingleMetric('concurrency_limit_refusals_total') as Counter<'limiter'>,
      rtt: registry.getSingleMetric('concurrency_limit_rtt_seconds') as Gauge<'limiter' | 'measure'>,
    };
  return {
    limit: new Gauge({
      name: 'concurrency_limit',
      help: 'Adaptive concurrency limit: calls that may be in flight now, per limiter',
      labelNames: ['limiter'] as const,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'concurrency_limit_in_flight',
      help: 'Calls in flight under an adaptive concurrency limit',
      labelNames: ['limiter'] as const,
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'concurrency_limit_refusals_total',
      help: 'Calls refused at once because the adaptive concurrency limit was reached',
      labelNames: ['limiter'] as const,
      registers: [registry],
    }),
    rtt: new Gauge({
      name: 'concurrency_limit_rtt_seconds',
      help: 'Latency the adaptive limit compares: long (no queue, slow average) and short (now)',
      labelNames: ['limiter', 'measure'] as const,
      registers: [registry],
    }),
  };
}

export interface ConcurrencyLimiterOptions {
  /** Label on the metrics, e.g. `order` for calls to order, `placement` for orders in progress. */
  name: string;
  settings?: Partial<AdaptiveLimitSettings>;
  metrics?: LimiterMetrics;
  now?: () => number;
}

/**
 * Admits a call when fewer than the adaptive limit are in flight, and refuses it at once otherwise:
 * no queue, so what cannot be served now is answered now (503 + Retry-After at the edge) instead of
 * waiting for a deadline to pass.
 */
export class ConcurrencyLimiter {
  readonly name: string;
  readonly #limit: AdaptiveLimit;
  readonly #metrics: LimiterMetrics | undefined;
  readonly #now: () => number;
  #inFlight = 0;

  constructor(options: ConcurrencyLimiterOptions) {
    this.name = options.name;
    this.#limit = new AdaptiveLimit(options.settings);
    this.#metrics = options.metrics;
    this.#now = options.now ?? (() => performance.now());
    this.#metrics?.limit.set({ limiter: this.name }, this.#limit.limit);
    this.#metrics?.inFlight.set({ limiter: this.name }, 0);
    this.#metrics?.refusals.inc({ limiter: this.name }, 0);
  }

  get limit(): number {
    return this.#limit.limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * True when the limit is reached now (counted as a refusal): a check before the work that leads
   * to `tryAcquire`, so a caller that will be refused is refused before doing it. It takes no permit.
   */
  refusesNow(): boolean {
    if (this.#inFlight < this.#limit.limit) return false;
    this.#metrics?.refusals.inc({ limiter: this.name });
    return true;
  }

  /** A permit, or undefined when the limit is reached (counted as a refusal). */
  tryAcquire(): LimitPermit | undefined {
    if (this.refusesNow()) return undefined;
    const labels = { limiter: this.name };
    this.#inFlight += 1;
    this.#metrics?.inFlight.set(labels, this.#inFlight);
    const startedAt = this.#now();
    let done = false;
    const release = (outcome: 'success' | 'dropped' | 'ignore') => {
      if (done) return;
      done = true;
      const inFlight = this.#inFlight;
      this.#inFlight -= 1;
      if (outcome !== 'ignore') this.#limit.sample(this.#now() - startedAt, inFlight, outcome === 'dropped');
      if (this.#metrics) {
        this.#metrics.inFlight.set(labels, this.#inFlight);
        this.#metrics.limit.set(labels, this.#limit.limit);
        const { longMs, shortMs } = this.#limit.rtt;
        this.#metrics.rtt.set({ ...labels, measure: 'long' }, longMs / 1000);
        this.#metrics.rtt.set({ ...labels, measure: 'short' }, shortMs / 1000);
      }
    };
    return {
      startedAt,
      success: () => release('success'),
      dropped: () => release('dropped'),
      ignore: () => release('ignore'),
    };
  }
}

/** Thrown when a limiter refused a call; the caller maps it to its own error (503 + Retry-After). */
export class LimitExceededError extends Error {
  readonly limiter: string;

  constructor(limiter: string) {
    super(`concurrency limit of ${limiter} reached`);
    this.limiter = limiter;
    this.name = 'LimitExceededError';
  }
}
