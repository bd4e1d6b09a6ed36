/**
 * Runs tasks with at most `limit` admitted at once, each key's tasks one after another in the order
 * they were admitted. Written here because the buses need both rules at once (p-limit and p-queue
 * bound concurrency but know nothing of keys) and it is a few lines.
 */
export class KeyedDispatcher {
  readonly #limit: number;
  readonly #tails = new Map<string, Promise<void>>();
  #admitted = 0;
  /** Callers waiting for a slot; a finishing task hands its slot to the first directly. */
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /**
   * Waits for a slot, then queues `task` behind the key's earlier tasks. Resolves once admitted,
   * with `settled`: the task's end (it never rejects).
   */
  async admit(key: string, task: () => Promise<void>): Promise<{ settled: Promise<void> }> {
    if (this.#admitted < this.#limit) this.#admitted += 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    const settled: Promise<void> = (this.#tails.get(key) ?? Promise.resolve()).then(task).then(
      () => this.#finish(key, settled),
      () => this.#finish(key, settled),
    );
    this.#tails.set(key, settled);
    return { settled };
  }

  #finish(key: string, settled: Promise<void>): void {
    if (this.#tails.get(key) === settled) this.#tails.delete(key);
    const next = this.#waiting.shift();
    if (next) next();
    else this.#admitted -= 1;
  }
}
