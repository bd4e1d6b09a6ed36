/**
 * Releases reservations when they expire: a timer set to the earliest expiry, read from the store
 * after each sweep and brought forward when a reservation is made here, instead of a sweep on an
 * interval (an idle inventory runs no statement). `idleMs` is a safety net for reservations made by
 * another inventory process, which would otherwise wait for that process's own timer.
 */
export class ExpiryTimer {
  readonly #options: {
    /** Releases what is due; resolves with how many it released (`limit` at most per call). */
    sweep: () => Promise<number>;
    nextExpiry: () => Promise<Date | null>;
    onError: (error: unknown) => void;
    /** Between a sweep that failed or left something due and the next. */
    retryMs: number;
    idleMs: number;
    limit: number;
  };
  #timer: NodeJS.Timeout | undefined;
  #at = Number.POSITIVE_INFINITY;
  #sweeping: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(options: {
    sweep: () => Promise<number>;
    nextExpiry: () => Promise<Date | null>;
    onError: (error: unknown) => void;
    retryMs: number;
    idleMs?: number;
    limit: number;
  }) {
    this.#options = { idleMs: 60_000, ...options };
  }

  start(): void {
    this.#stopped = false;
    this.#armAt(Date.now());
  }

  /**
   * A reservation made here expires at `at` (its transaction commits a little later, so the sweep
   * is not set sooner than `retryMs` from now).
   */
  expiresAt(at: Date): void {
    this.#armAt(Math.max(at.getTime(), Date.now() + this.#options.retryMs));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
    await this.#sweeping;
  }

  #armAt(at: number): void {
    if (this.#stopped || at >= this.#at) return;
    clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - Date.now()));
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
    if (this.#sweeping) {
      this.#again = true;
      return;
    }
    const { sweep, nextExpiry, onError, retryMs, idleMs, limit } = this.#options;
    this.#sweeping = (async () => {
      do {
        this.#again = false;
        while ((await sweep()) >= limit) {
          // A full batch: more may be due.
        }
      } while (this.#again);
      const next = (await nextExpiry())?.getTime();
      const now = Date.now();
      this.#armAt(
        next === undefined ? now + idleMs : next <= now ? now + retryMs : Math.min(next, now + idleMs),
      );
    })()
      .catch((error: unknown) => {
        onError(error);
        this.#armAt(Date.now() + retryMs);
      })
      .finally(() => {
        this.#sweeping = undefined;
      });
  }
}
