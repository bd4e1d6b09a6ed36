/** The queue was given more than it holds: its reader fell too far behind and must start again. */
export class QueueOverflow extends Error {
  constructor(capacity: number) {
    super(`more than ${capacity} items waiting for a slow reader`);
  }
}

/**
 * Items pushed by one writer (a feed) to one reader (a server stream), in order. Bounded: a reader
 * that falls more than `capacity` behind is ended with QueueOverflow (its client resumes from the
 * last id it saw) rather than holding memory without limit. Hand-written because it is this small,
 * and Node's `events.on` queue has no bound.
 */
export class BoundedQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  #waiting: (() => void) | undefined;
  #ended: Error | true | undefined;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  push(item: T): void {
    if (this.#ended) return;
    if (this.#items.length >= this.#capacity) {
      this.end(new QueueOverflow(this.#capacity));
      return;
    }
    this.#items.push(item);
    this.#wake();
  }

  /** No more items; with an error, the reader fails with it once it has read what came before. */
  end(error?: Error): void {
    this.#ended ??= error ?? true;
    this.#wake();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const next = this.#items.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#ended === true) return;
      if (this.#ended) throw this.#ended;
      await new Promise<void>((resolve) => {
        this.#waiting = resolve;
      });
    }
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }
}
