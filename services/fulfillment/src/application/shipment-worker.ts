import { type Logger, WakeSignal } from '@mercato/chassis';
import type { Fulfillment } from './fulfillment.ts';

/**
 * Loops that move due shipments on (see Fulfillment.advanceNext). Shipments are rows with a due
 * time, taken with SKIP LOCKED and a lease, so any number of fulfillment processes share the work
 * and one that dies mid-hand-over leaves the row to the next when its lease ends (the carrier's
 * idempotency key makes the second hand-over find the first parcel).
 */
export class ShipmentWorker {
  readonly #fulfillment: Fulfillment;
  readonly #logger: Logger;
  readonly #signals: WakeSignal[];
  readonly #pollMs: number;
  readonly #idleMs: number;
  #running = false;
  #loops: Promise<void>[] = [];
  /** Looks left, `pollMs` apart, after a wake before the first loop sleeps until the next due time. */
  #pollsLeft = POLLS_AFTER_WAKE;

  constructor(
    fulfillment: Fulfillment,
    logger: Logger,
    options: { workers: number; pollMs: number; idleMs?: number },
  ) {
    this.#fulfillment = fulfillment;
    this.#logger = logger;
    this.#pollMs = options.pollMs;
    this.#idleMs = options.idleMs ?? 60_000;
    this.#signals = Array.from({ length: options.workers }, () => new WakeSignal());
  }

  start(): void {
    this.#running = true;
    this.#loops = this.#signals.map((signal, index) => this.#run(signal, index === 0));
  }

  /** Work may be due (called from a handler, before its transaction commits). */
  wake(): void {
    this.#pollsLeft = POLLS_AFTER_WAKE;
    for (const signal of this.#signals) signal.wake();
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const signal of this.#signals) signal.wake();
    await Promise.all(this.#loops);
  }

  /**
   * Only the first loop looks for work while nothing is due, and only when something may have
   * changed: a few times `pollMs` apart after a wake (the waking handler's transaction commits a
   * little after it), then not before the next shipment's due time, read from the store (a retry,
   * a tracking call, a lease that ends), or the safety net `idleMs` (shipments made due by another
   * fulfillment process). The others sleep until it finds work or a confirmation wakes them all.
   */
  async #run(signal: WakeSignal, timed: boolean): Promise<void> {
    while (this.#running) {
      let advanced = false;
      try {
        advanced = await this.#fulfillment.advanceNext();
      } catch (error) {
        this.#logger.warn({ err: error }, 'moving a shipment on failed; will retry');
      }
      if (advanced && timed) for (const other of this.#signals) if (other !== signal) other.wake();
      if (advanced) continue;
      if (!timed) await signal.sleep(Number.POSITIVE_INFINITY);
      else if (this.#pollsLeft > 0) {
        this.#pollsLeft -= 1;
        await signal.sleep(this.#pollMs);
      } else await signal.sleep(await this.#untilDue());
    }
  }

  async #untilDue(): Promise<number> {
    try {
      const due = await this.#fulfillment.nextDueAt();
      if (!due) return this.#idleMs;
      const wait = due.getTime() - Date.now() + 5;
      // Due already but not taken (another worker holds it): look again after the poll interval.
      return wait <= 5 ? this.#pollMs : Math.min(this.#idleMs, wait);
    } catch (error) {
      this.#logger.warn({ err: error }, 'reading when the next shipment is due failed; will retry');
      return this.#pollMs;
    }
  }
}

/** Looks for work after a wake before sleeping until the next due time. */
const POLLS_AFTER_WAKE = 4;
