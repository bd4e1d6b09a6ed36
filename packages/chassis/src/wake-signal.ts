/**
 * A sleep that can be cut short: loops that poll as a safety net (relay, bus consumers) sleep here
 * and are woken early by a notification or by stop().
 */
export class WakeSignal {
  #wake: (() => void) | undefined;
  #pending = false;

  /** Wakes the current sleep, or makes the next one return at once. */
  wake(): void {
    if (this.#wake) this.#wake();
    else this.#pending = true;
  }

  sleep(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}
