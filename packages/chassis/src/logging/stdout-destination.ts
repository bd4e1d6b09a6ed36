/** How much a service holds while stdout's reader is behind, before it drops lines. */
export const STDOUT_BUFFER_BYTES = 4 * 1024 * 1024;

/** Lines this process dropped because stdout's reader was too far behind (all destinations). */
let droppedInProcess = 0;
export const droppedLogLines = (): number => droppedInProcess;

/** What the destination writes to: the process's stdout, or a stand-in. */
export type LineSink = Pick<NodeJS.WritableStream, 'write' | 'on'> & { readonly writableLength: number };

/**
 * stdout for pino that never blocks the service, and survives losing its reader.
 *
 * A service's stdout is a pipe to the supervisor (in Kubernetes, to the container runtime). With
 * pino's synchronous destination, a reader that fell behind for a few seconds (a supervisor starved
 * of CPU) filled the pipe and then blocked every service on its next log line: gRPC calls hung until
 * the reader caught up, and the gateway refused what piled up behind them (503). Here lines go
 * through Node's own stdout stream, which writes to a pipe without blocking and queues what the
 * pipe cannot take yet; beyond `bufferBytes` queued, lines are dropped and counted (Docker's
 * non-blocking log mode), and once there is room again a line says how many were lost.
 *
 * Not pino's asynchronous destination (sonic-boom): at exit it flushes synchronously and retries a
 * write that failed with EPIPE forever, so a service whose supervisor died could never exit. Here
 * the first write error (the reader has gone) makes the destination drop everything that follows.
 */
export class StdoutDestination {
  readonly #out: LineSink;
  readonly #bufferBytes: number;
  readonly #service: string | undefined;
  #broken = false;
  #dropped = 0;
  /** Lines dropped since the last report line. */
  #unreported = 0;

  constructor(options: { out?: LineSink; bufferBytes?: number; service?: string } = {}) {
    this.#out = options.out ?? process.stdout;
    this.#bufferBytes = options.bufferBytes ?? STDOUT_BUFFER_BYTES;
    this.#service = options.service;
    this.#out.on('error', () => {
      this.#broken = true;
    });
  }

  write(line: string): boolean {
    if (this.#broken) return false;
    if (!this.#fits(line)) {
      droppedInProcess += 1;
      this.#dropped += 1;
      this.#unreported += 1;
      return false;
    }
    if (this.#unreported > 0) {
      const report = this.#report(this.#unreported);
      if (this.#fits(report + line)) {
        this.#out.write(report);
        this.#unreported = 0;
      }
    }
    this.#out.write(line);
    return true;
  }

  /** True once the reader has gone; log lines are then dropped. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Lines dropped so far because the reader was too far behind. */
  get dropped(): number {
    return this.#dropped;
  }

  #fits(text: string): boolean {
    return this.#out.writableLength + Buffer.byteLength(text) <= this.#bufferBytes;
  }

  #report(count: number): string {
    return `${JSON.stringify({
      level: 'warn',
      timestamp: new Date().toISOString(),
      ...(this.#service ? { service: this.#service } : {}),
      message: `${count} log line(s) dropped: stdout's reader was more than ${Math.round(this.#bufferBytes / 1024)} KiB behind`,
      dropped_lines: count,
    })}\n`;
  }
}
