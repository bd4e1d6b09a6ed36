import { randomUUID } from 'node:crypto';
import { ConcurrencyLimiter, type LimiterMetrics, type LimitPermit, OverloadedError } from '@mercato/chassis';

/** What CreateOrder tells its caller of this instance's room (PlacementHeadroom in order.proto). */
export interface Headroom {
  instance: string;
  free: number;
  limit: number;
  finishesPerSecond: number;
}

/** The finish rate's time constant: an exponentially weighted rate over the last few seconds. */
const RATE_TAU_MS = 2_000;

export interface PlacementLimitSettings {
  initial: number;
  min: number;
  max: number;
  /**
   * An order not finished after this long stops counting (its saga is stuck, or the notification
   * that another instance finished it was lost with a LISTEN connection).
   */
  holdMs: number;
}

/**
 * How many orders this process has accepted and not yet seen through to confirmed, cancelled or
 * failed, under an adaptive concurrency limit (the chassis' gradient limit). An order is in flight
 * from CreateOrder until its PlaceOrder saga finishes, and the time that takes is the latency the
 * limit learns from: while the sagas keep up it stays short and the limit grows; when more is
 * accepted than the saga pipeline confirms, orders wait in its queue, the time rises and the limit
 * falls, so CreateOrder refuses at once (RESOURCE_EXHAUSTED, shed: a 503 with Retry-After at the
 * edge) instead of accepting a backlog that would take minutes to drain. By Little's law the limit
 * settles near confirmed orders/s × time to confirm without a queue.
 */
export class PlacementLimit {
  readonly #limiter: ConcurrencyLimiter;
  readonly #held = new Map<string, LimitPermit>();
  readonly #holdMs: number;
  readonly #now: () => number;
  readonly #instance = randomUUID();
  /** Finished orders per second, decayed to `#rateAt`. */
  #rate = 0;
  #rateAt = 0;

  constructor(settings: PlacementLimitSettings, metrics?: LimiterMetrics, now = () => performance.now()) {
    this.#now = now;
    this.#limiter = new ConcurrencyLimiter({
      name: 'placement',
      settings: { initial: settings.initial, min: settings.min, max: settings.max },
      ...(metrics ? { metrics } : {}),
      now,
    });
    this.#holdMs = settings.holdMs;
  }

  /** Runs `create` if an order may be accepted now; refuses at once (OverloadedError) if not. */
  async admit<T>(create: () => Promise<T>, held: (result: T) => string | undefined): Promise<T> {
    this.#forgetStale();
    const permit = this.#limiter.tryAcquire();
    if (!permit)
      throw new OverloadedError('ORDER.OVERLOADED', 'too many orders in progress; try again shortly');
    let result: T;
    try {
      result = await create();
    } catch (error) {
      permit.ignore();
      throw error;
    }
    const orderId = held(result);
    // A replayed or already-finished order is not new work.
    if (orderId === undefined || this.#held.has(orderId)) permit.ignore();
    else this.#held.set(orderId, permit);
    return result;
  }

  /**
   * Its PlaceOrder saga finished (the order is confirmed, cancelled or failed), in this process or
   * another instance's (order.service.ts tells every instance). An order it does not hold is ignored.
   */
  finished(orderId: string): void {
    const permit = this.#held.get(orderId);
    if (!permit) return;
    this.#held.delete(orderId);
    permit.success();
    const now = this.#now();
    this.#rate = this.#decayedRate(now) + 1_000 / RATE_TAU_MS;
    this.#rateAt = now;
  }

  /**
   * Room for new orders now, for CreateOrder's answer: the edge paces what it lets through by it
   * (free places now, refilled at the finish rate) and refuses the rest itself, at once.
   */
  headroom(): Headroom {
    return {
      instance: this.#instance,
      free: Math.max(0, this.#limiter.limit - this.#limiter.inFlight),
      limit: this.#limiter.limit,
      finishesPerSecond: this.#decayedRate(this.#now()),
    };
  }

  /** The finish rate decayed to `now`. */
  #decayedRate(now: number): number {
    return this.#rate * Math.exp(-(now - this.#rateAt) / RATE_TAU_MS);
  }

  get inFlight(): number {
    return this.#limiter.inFlight;
  }

  /** Oldest first (a Map keeps insertion order): stop at the first one still young enough. */
  #forgetStale(): void {
    const cutoff = this.#now() - this.#holdMs;
    for (const [orderId, permit] of this.#held) {
      if (permit.startedAt > cutoff) return;
      this.#held.delete(orderId);
      permit.dropped();
    }
  }
}
