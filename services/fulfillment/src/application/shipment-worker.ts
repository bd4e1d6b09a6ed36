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
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(fulfillment: Fulfillment, logger: Logger, options: { workers: number; pollMs: number }) {
    this.#fulfillment = fulfillment;
    this.#logger = logger;
    this.#pollMs = options.pollMs;
    this.#signals = Array.from({ length: options.workers }, () => new WakeSignal());
  }

  start(): void {
    this.#running = true;
    this.#loops = this.#signals.map((signal, index) => this.#run(signal, index === 0));
  }

  wake(): void {
    for (const signal of this.#signals) signal.wake();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.wake();
    await Promise.all(this.#loops);
  }

  /**
   * Only the first loop polls while nothing is due (one transaction per interval, not one per loop);
   * the others sleep until it finds work or a confirmation wakes them all.
   */
  async #run(signal: WakeSignal, polls: boolean): Promise<void> {
    while (this.#running) {
      let advanced = false;
      try {
        advanced = await this.#fulfillment.advanceNext();
      } catch (error) {
        this.#logger.warn({ err: error }, 'moving a shipment on failed; will retry');
      }
      if (advanced && polls) this.wake();
      if (!advanced) await signal.sleep(polls ? this.#pollMs : IDLE_MS);
    }
  }
}

/** How long a loop other than the first sleeps when nothing is due and nobody wakes it. */
const IDLE_MS = 30_000;
