import { destination } from 'pino';

/**
 * Synchronous stdout for pino that survives losing its reader. A service's stdout is a pipe to the
 * supervisor; if the supervisor dies, writes fail with EPIPE. pino's default destination keeps the
 * failed lines buffered and, at exit, retries flushing them forever, so the process could never
 * exit. Here the first write error makes the destination drop everything that follows.
 */
export class StdoutDestination {
  readonly #stream: ReturnType<typeof destination>;
  #broken = false;

  constructor(fd = 1) {
    this.#stream = destination({ fd, sync: true });
    this.#stream.on('error', () => {
      this.#broken = true;
    });
  }

  write(line: string): boolean {
    if (this.#broken) return false;
    return this.#stream.write(line);
  }

  /** True once the reader has gone; log lines are then dropped. */
  get broken(): boolean {
    return this.#broken;
  }
}
