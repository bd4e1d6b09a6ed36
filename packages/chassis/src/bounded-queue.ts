import { AppError } from './errors/app-error.ts';

/**
 * The queue was given more than it holds: its reader fell too far behind and must start again
 * (from the last item it read). Unavailable, not internal: the reader's caller asks again, and the
 * server that ended the stream did nothing wrong.
 */
export class QueueOverflow extends AppError {
  constructor(capacity: number) {
    super({
      code: 'STREAM.READER_BEHIND',
      kind: 'unavailable',
      message: `more than ${capacity} items waited for this reader; resume after the last one it read`,
      retryAfterSeconds: 1,
    });
    this.name = 'QueueOverflow';
  }
}

/**
 * Items pushed by one writer (a feed) to one reader (a server stream), in order. Bounded: a reader
 * that falls more than `capacity` behind is ended with QueueOverflow (its client resumes from the
 * last id it saw) rather than holding memory without limit; what waited for it is dropped at once,
 * since the resumed stream reads it again (a reader that stopped reading for good, e.g. a client
 * that no longer drains its connection, would otherwise keep `capacity` items until it left).
 * Hand-written because it is this small, and Node's `events.on` queue has no bound.
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
      this.#items.length = 0;
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
