import { ConcurrencyLimiter, isAppError, type LimiterMetrics, OverloadedError } from '@mercato/chassis';

const overloaded = () =>
  new OverloadedError('GATEWAY.OVERLOADED', 'too many orders are being placed; try again shortly');

export interface PlacementAdmissionSettings {
  min: number;
  max: number;
}

/**
 * Orders being placed through the edge (POST /api/orders, checkout), under an adaptive concurrency
 * limit of their own: beyond it the edge answers 503 GATEWAY.OVERLOADED with Retry-After at once,
 * without a call to order. Its latency samples are CreateOrder's; when order sheds a call
 * (ORDER.OVERLOADED) or one times out, the limit backs off at once, as AIMD does on a drop, so
 * that under a burst the edge refuses what order would refuse, at the cost of a few microseconds
 * instead of a round trip through a busy order service.
 */
export class PlacementAdmission {
  readonly #limiter: ConcurrencyLimiter | undefined;

  constructor(settings: PlacementAdmissionSettings | undefined, metrics: LimiterMetrics) {
    this.#limiter = settings
      ? new ConcurrencyLimiter({
          name: 'edge-placement',
          settings: {
            min: settings.min,
            max: settings.max,
            initial: Math.min(settings.max, Math.max(settings.min, 16)),
          },
          metrics,
        })
      : undefined;
  }

  /**
   * Refuses at once when no order could be admitted now. The placement routes' own onRequest hook:
   * after the edge's steps (the caller's token and quota: a stranger hears 401, a client over its
   * quota 429, overload or not), before the body is read and validated and the handler runs, so a
   * refusal under a burst takes fewer turns of a busy event loop. It takes no permit: a request
   * that passes is admitted (or refused) by `run` as before.
   */
  readonly shedEarly = async (): Promise<void> => {
    if (this.#limiter?.refusesNow()) throw overloaded();
  };

  async run<T>(place: () => Promise<T>): Promise<T> {
    if (!this.#limiter) return place();
    const permit = this.#limiter.tryAcquire();
    if (!permit) throw overloaded();
    try {
      const placed = await place();
      permit.success();
      return placed;
    } catch (error) {
      if (error instanceof OverloadedError || (isAppError(error) && error.kind === 'timeout'))
        permit.dropped();
      else permit.ignore();
      throw error;
    }
  }
}
