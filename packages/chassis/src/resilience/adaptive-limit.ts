/**
 * An adaptive concurrency limit: how many calls may be in flight at once, learnt from their latency.
 *
 * Written here because npm has no well-kept library for it: cockatiel (our other policies) has only
 * a fixed bulkhead, `overload-protection` sheds by event-loop lag, not by an upstream's latency, and
 * the rest are fixed-concurrency semaphores. The algorithm is the one Netflix's concurrency-limits
 * calls Gradient2 and Envoy's adaptive concurrency filter calls its gradient controller: compare the
 * latency of the last calls (short RTT) with the latency the dependency has without a queue (long
 * RTT, a slow moving average); their ratio, the gradient, is 1 while no queue builds and falls
 * toward 0.5 as one does. As in Gradient2, latency may rise by a tolerance before it counts as a
 * queue (the calls to a dependency use 1.5, Gradient2's default: on a small machine a process
 * starting beside the dependency slows every call for a second without any queue at it; placement's
 * own limits keep 1, refusing as soon as orders queue). The limit follows `limit × gradient + headroom`, smoothed, within
 * [min, max]. A call that timed out or was refused downstream (`drop`) cuts the limit by a factor
 * at once, as AIMD does, because no latency sample says how long it would have taken.
 */
export interface AdaptiveLimitSettings {
  initial: number;
  min: number;
  max: number;
  /** How far one sample may move the limit toward its new estimate (0–1). */
  smoothing: number;
  /** Samples the long RTT averages over: how slowly "no queue" latency follows the load. */
  longWindow: number;
  /** Samples the short RTT averages over: the latency now, spared a single outlier. */
  shortWindow: number;
  /** The limit is multiplied by this when a call is dropped (timed out, refused downstream). */
  backoffRatio: number;
  /** How many times its no-queue level latency may reach before the limit shrinks (≥ 1). */
  rttTolerance: number;
}

export const defaultAdaptiveLimitSettings: AdaptiveLimitSettings = {
  initial: 20,
  min: 2,
  max: 200,
  smoothing: 0.2,
  longWindow: 600,
  shortWindow: 5,
  backoffRatio: 0.9,
  rttTolerance: 1,
};

/** An exponential moving average whose first `warmup` samples are a plain mean. */
class MovingAverage {
  #value = 0;
  #count = 0;
  readonly #window: number;
  readonly #warmup: number;

  constructor(window: number, warmup: number) {
    this.#window = Math.max(1, window);
    this.#warmup = Math.max(1, Math.min(warmup, window));
  }

  add(sample: number): number {
    if (this.#count < this.#warmup) {
      this.#count += 1;
      this.#value += (sample - this.#value) / this.#count;
    } else {
      const factor = 2 / (this.#window + 1);
      this.#value = this.#value * (1 - factor) + sample * factor;
    }
    return this.#value;
  }

  scale(by: number): void {
    this.#value *= by;
  }

  get value(): number {
    return this.#value;
  }
}

export class AdaptiveLimit {
  readonly settings: AdaptiveLimitSettings;
  #estimate: number;
  readonly #long: MovingAverage;
  readonly #short: MovingAverage;

  constructor(settings: Partial<AdaptiveLimitSettings> = {}) {
    const merged = { ...defaultAdaptiveLimitSettings, ...settings };
    if (!(merged.min >= 1 && merged.max >= merged.min))
      throw new RangeError(`adaptive limit: expected 1 ≤ min ≤ max, got ${merged.min}…${merged.max}`);
    if (!(merged.rttTolerance >= 1))
      throw new RangeError(`adaptive limit: expected an RTT tolerance ≥ 1, got ${merged.rttTolerance}`);
    this.settings = merged;
    this.#estimate = clamp(merged.initial, merged.min, merged.max);
    this.#long = new MovingAverage(merged.longWindow, 10);
    this.#short = new MovingAverage(merged.shortWindow, 1);
  }

  /** The number of calls that may be in flight now. */
  get limit(): number {
    return Math.floor(this.#estimate);
  }

  /** Latency without a queue and latency now, in ms (0 before the first sample). */
  get rtt(): { longMs: number; shortMs: number } {
    return { longMs: this.#long.value, shortMs: this.#short.value };
  }

  /**
   * One call finished in `rttMs` while `inFlight` calls (itself included) were running.
   * A call that was dropped (timed out, refused downstream) has no meaningful latency.
   */
  sample(rttMs: number, inFlight: number, dropped = false): number {
    const { min, max, smoothing, backoffRatio, rttTolerance } = this.settings;
    if (dropped) {
      this.#estimate = clamp(this.#estimate * backoffRatio, min, max);
      return this.limit;
    }
    if (!(rttMs >= 0) || !Number.isFinite(rttMs)) return this.limit;
    const rtt = Math.max(rttMs, 0.001);
    const short = this.#short.add(rtt);
    const long = this.#long.add(rtt);
    // After a long spell of load the "no queue" average sits far above the latency now: pull it down
    // faster than its window would, so the limit can grow back soon after the load ends.
    if (long / short > 2) this.#long.scale(0.9);
    // A caller using less than half the limit says nothing about whether more would fit.
    if (inFlight < this.#estimate / 2) return this.limit;
    const gradient = clamp((rttTolerance * this.#long.value) / short, 0.5, 1);
    const headroom = Math.sqrt(this.#estimate);
    const target = this.#estimate * gradient + headroom;
    this.#estimate = clamp(this.#estimate * (1 - smoothing) + target * smoothing, min, max);
    return this.limit;
  }
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));
