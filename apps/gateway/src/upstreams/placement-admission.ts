import { ConcurrencyLimiter, isAppError, type LimiterMetrics, OverloadedError } from '@mercato/chassis';
import { OrderHeadroom, type ReportedHeadroom } from './order-headroom.ts';

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
 * instead of a round trip through a busy order service. And it paces what it lets through by the
 * room order's answers report (`OrderHeadroom`): order's limit counts orders until their saga ends,
 * which no limit on the calls' own latency sees, so without it order refused half of a burst's
 * refusals itself, each a round trip through its busy process (p99 126 ms against the edge's 38).
 */
export class PlacementAdmission {
  readonly #limiter: ConcurrencyLimiter | undefined;
  readonly #headroom: OrderHeadroom;
  readonly #metrics: LimiterMetrics;

  constructor(
    settings: PlacementAdmissionSettings | undefined,
    metrics: LimiterMetrics,
    now: () => number = () => performance.now(),
  ) {
    this.#metrics = metrics;
    this.#headroom = new OrderHeadroom(now);
    this.#limiter = settings
      ? new ConcurrencyLimiter({
          name: 'edge-placement',
          settings: {
            min: settings.min,
            max: settings.max,
            initial: Math.min(settings.max, Math.max(settings.min, 16)),
          },
          metrics,
          now,
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
    if (this.#limiter?.refusesNow() || this.#noRoomAtOrder()) throw overloaded();
  };

  /** Places an order through `place`; `headroomOf` reads the room order reported with it. */
  async run<T>(
    place: () => Promise<T>,
    headroomOf?: (placed: T) => ReportedHeadroom | undefined,
  ): Promise<T> {
    if (!this.#limiter) return place();
    if (this.#noRoomAtOrder()) throw overloaded();
    const permit = this.#limiter.tryAcquire();
    if (!permit) throw overloaded();
    this.#headroom.started();
    try {
      const placed = await place();
      permit.success();
      this.#headroom.answered(headroomOf?.(placed));
      return placed;
    } catch (error) {
      if (isAppError(error) && error.code === 'ORDER.OVERLOADED') this.#headroom.refused();
      else this.#headroom.failed();
      if (error instanceof OverloadedError || (isAppError(error) && error.kind === 'timeout'))
        permit.dropped();
      else permit.ignore();
      throw error;
    }
  }

  /** Order's answers say it has no place now: refused here, counted as the edge's refusal. */
  #noRoomAtOrder(): boolean {
    if (!this.#limiter || this.#headroom.mayCall()) return false;
    this.#metrics.refusals.inc({ limiter: 'edge-placement-headroom' });
    return true;
  }
}
