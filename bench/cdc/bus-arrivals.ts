/**
 * The parent's side of bench/cdc's consumer (bus-consumer.ts, its own process): when each streamed
 * change of a customer reached it, by the source transaction's id its envelope carries.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ConsumerReport, ConsumerSettings } from './bus-consumer.ts';

export interface Arrival {
  /** Wall-clock ms (sub-ms precision) when the delivery reached the handler. */
  at: number;
  /** The monolith's commit time as the envelope says (`data.source.committed_at`, whole ms). */
  committedAt: number;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes (as bench/bus). */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export class BusArrivals {
  /** Streamed changes by source transaction id (32 bits, as pgoutput sends it). */
  readonly streamed = new Map<number, Arrival>();
  /** Deliveries of a transaction id already seen (the bus delivers at least once). */
  duplicates = 0;
  /** Snapshot rows delivered (the group joined after the snapshot: the topic's history). */
  snapshotRows = 0;
  readonly #child: ChildProcess;
  readonly #exited: Promise<unknown>;
  /** What the consumer said of itself so far (`started`, `ready`), and who waits for which. */
  readonly #said = new Set<string>();
  readonly #waiting = new Map<string, () => void>();

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#exited = once(child, 'exit');
    child.on('message', (message: ConsumerReport) => {
      if ('arrivals' in message) return this.#take(message);
      const said = 'started' in message ? 'started' : 'ready';
      this.#said.add(said);
      this.#waiting.get(said)?.();
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Starts the consumer's process; resolves once it is connected (not yet subscribed). */
  static async start(settings: ConsumerSettings): Promise<BusArrivals> {
    const child = fork(fileURLToPath(new URL('./bus-consumer.ts', import.meta.url)), [], {
      execArgv: process.execArgv,
      env: { ...process.env, BENCH_CDC_CONSUMER: JSON.stringify(settings) },
    });
    const arrivals = new BusArrivals(child);
    await arrivals.#next('started');
    return arrivals;
  }

  /** Subscribes the consumer's group; resolves once it has. */
  async subscribe(): Promise<void> {
    this.#child.send({ subscribe: true });
    await this.#next('ready');
  }

  #next(report: 'started' | 'ready'): Promise<void> {
    if (this.#said.has(report)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(report, resolve);
      void this.#exited.then(() =>
        reject(new Error(`the bench consumer exited with ${this.#child.exitCode}`)),
      );
    });
  }

  #take(report: Extract<ConsumerReport, { arrivals: unknown }>): void {
    this.snapshotRows += report.snapshotRows;
    for (const [xid, at, committedAt] of report.arrivals) {
      if (this.streamed.has(xid)) this.duplicates += 1;
      else this.streamed.set(xid, { at, committedAt });
    }
  }

  running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async stop(): Promise<void> {
    if (!this.running()) return;
    this.#child.disconnect();
    await this.#exited;
  }
}
