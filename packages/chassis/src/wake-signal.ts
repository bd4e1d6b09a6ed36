export interface WakeSignalOptions {
  /**
   * A sleep woken sooner than this after the previous sleep ended returns only then: while
   * notifications come faster than this, the loop runs once per interval and takes all that came
   * meanwhile in one pass (one read, one transaction) instead of one pass per notification. The
   * first wake after a quiet spell returns at once. 0 (the default): every wake returns at once.
   */
  coalesceMs?: number;
}

/**
 * A sleep that can be cut short: loops that poll as a safety net (relay, bus consumers) sleep here
 * and are woken early by a notification or by stop().
 */
export class WakeSignal {
  readonly #coalesceMs: number;
  #wake: (() => void) | undefined;
  #pending = false;
  /** When the last sleep returned (performance.now()). */
  #lastReturn = Number.NEGATIVE_INFINITY;

  constructor(options: WakeSignalOptions = {}) {
    this.#coalesceMs = Math.max(0, options.coalesceMs ?? 0);
  }

  /** Wakes the current sleep, or makes the next one return at once (or when its interval ends). */
  wake(): void {
    if (this.#wake) this.#wake();
    else this.#pending = true;
  }

  /** Sleeps `ms` (Infinity: until woken; a timer cannot be longer than ~24.8 days). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const end = () => {
        this.#lastReturn = performance.now();
        resolve();
      };
      // Woken: now, or when the interval since the last return is over. Wakes meanwhile are taken
      // by the same return (what they announce was committed before it), so they are absorbed.
      const woken = () => {
        const wait = this.#lastReturn + this.#coalesceMs - performance.now();
        if (wait <= 0) {
          this.#wake = undefined;
          end();
          return;
        }
        this.#wake = () => undefined;
        setTimeout(() => {
          this.#wake = undefined;
          end();
        }, wait);
      };
      if (this.#pending) {
        this.#pending = false;
        woken();
        return;
      }
      const timer = setTimeout(
        () => {
          this.#wake = undefined;
          end();
        },
        Math.min(ms, MAX_TIMER_MS),
      );
      this.#wake = () => {
        clearTimeout(timer);
        woken();
      };
    });
  }
}

/** setTimeout's longest delay; a longer (or infinite) one would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;
