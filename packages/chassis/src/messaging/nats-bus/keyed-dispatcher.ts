/**
 * Runs tasks with at most `limit` in flight, each key's tasks one after another in the order they
 * were handed over. Written here because the bus needs both rules at once (p-limit and p-queue
 * bound concurrency but know nothing of keys) and it is a few lines.
 */
export class KeyedDispatcher {
  readonly #limit: number;
  readonly #tails = new Map<string, Promise<void>>();
  #inFlight = 0;
  #waiters: Array<() => void> = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Resolves once another task may be handed over. */
  ready(): Promise<void> {
    if (this.#inFlight < this.#limit) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Runs `task` after the key's earlier tasks have settled; it never rejects. */
  run(key: string, task: () => Promise<void>): Promise<void> {
    this.#inFlight += 1;
    const previous = this.#tails.get(key);
    const settled = (previous ? previous.then(task) : task()).then(
      () => undefined,
      () => undefined,
    );
    const done = settled.then(() => {
      if (this.#tails.get(key) === done) this.#tails.delete(key);
      this.#inFlight -= 1;
      this.#waiters.shift()?.();
    });
    this.#tails.set(key, done);
    return done;
  }
}
