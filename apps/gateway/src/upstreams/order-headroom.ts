/** An order instance's room for new orders, as CreateOrder's answer reports it (PlacementHeadroom). */
export interface ReportedHeadroom {
  instance: string;
  free: number;
  limit: number;
  finishesPerSecond: number;
}

interface Report extends ReportedHeadroom {
  /** When it arrived (ms, the estimate's clock). */
  at: number;
}

/**
 * A report older than this says nothing: the edge lets calls through and order decides, as it
 * would with no report at all. Under a burst answers come many times a second.
 */
export const REPORT_FRESH_MS = 1_000;

/**
 * How much of the finish rate the refill counts. Orders finish at random moments, not one every
 * 1/rate seconds: a call sent as soon as the rate says a place is free finds none about a third of
 * the time (e^-1), and order refuses it. Counting half the rate (e^-2, 14 %) and halving that after
 * each refusal from order (its limit may be falling too: a finish frees a place, a lower limit takes
 * it back), back up by 0.02 with each order it accepts, left order a few refusals in a burst of 20 s
 * (bench/overload). Little throughput is lost: an answer reports the places that freed meanwhile,
 * and the edge sends that many at once; the refill only decides when to ask again.
 */
const TRUST_FLOOR = 0.1;
const TRUST_CEILING = 0.5;
const TRUST_STEP = 0.02;

/**
 * How many more orders the order service would accept now, estimated at the edge from what its
 * CreateOrder answers report: each instance's free places when it answered, refilled at its finish
 * rate since (each finished order frees one, as a token bucket refills; less while order keeps
 * refusing what this let through), less the calls sent since (and those still out when it
 * answered, which it may not have counted yet). The edge refuses
 * itself what this says order would refuse, without the round trip through a busy order process;
 * order still enforces its own limit, so an estimate too high costs only a refusal from order, and
 * when nothing fresh is known (no report for a second, or an order that reports none) everything
 * goes to order, as before.
 */
export class OrderHeadroom {
  readonly #reports = new Map<string, Report>();
  readonly #now: () => number;
  /** Calls out now. */
  #inFlight = 0;
  /** Calls that the newest report may not count: sent since it, or out when it came. */
  #unaccounted = 0;
  /** The share of the finish rate the refill counts (TRUST_FLOOR to TRUST_CEILING). */
  #trust = TRUST_CEILING;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Whether a call to CreateOrder may go now. */
  mayCall(): boolean {
    const now = this.#now();
    let room = 0;
    for (const [instance, report] of this.#reports) {
      const age = now - report.at;
      if (age > REPORT_FRESH_MS) {
        this.#reports.delete(instance);
        continue;
      }
      room += Math.min(report.limit, report.free + (this.#trust * report.finishesPerSecond * age) / 1_000);
    }
    if (this.#reports.size === 0) return true;
    return room - this.#unaccounted >= 1;
  }

  /** A call to CreateOrder goes out. */
  started(): void {
    this.#inFlight += 1;
    this.#unaccounted += 1;
  }

  /** It was answered, with the instance's report; none: that order runs no placement limit. */
  answered(report: ReportedHeadroom | undefined): void {
    this.#settle();
    if (!report) {
      this.#reports.clear();
      return;
    }
    this.#reports.set(report.instance, { ...report, at: this.#now() });
    this.#unaccounted = this.#inFlight;
    this.#trust = Math.min(TRUST_CEILING, this.#trust + TRUST_STEP);
  }

  /** Order refused it (ORDER.OVERLOADED): none of the instances known has a place now. */
  refused(): void {
    this.#settle();
    const now = this.#now();
    for (const report of this.#reports.values()) {
      report.free = 0;
      report.at = now;
    }
    this.#unaccounted = this.#inFlight;
    this.#trust = Math.max(TRUST_FLOOR, this.#trust / 2);
  }

  /** It failed otherwise (a timeout, a lost connection): it says nothing of the room. */
  failed(): void {
    this.#settle();
  }

  /** One call fewer out; what it took stays unaccounted until the next report counts it. */
  #settle(): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
  }
}
