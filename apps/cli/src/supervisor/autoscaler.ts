import type { Logger } from '@mercato/chassis/logging';
import { type AutoscaleRange, decideScale, type ScalePolicy } from '../autoscale.ts';
import {
  type Emit,
  progress,
  type ReleaseEvent,
  type ReleaseHost,
  retireReported,
  startReady,
} from './releases/release-steps.ts';
import type { ServiceProcess } from './service-process.ts';

export interface AutoscalerSettings {
  ranges: ReadonlyMap<string, AutoscaleRange>;
  policy: ScalePolicy;
  /** How often each scaled service's instances are sampled. */
  intervalMs: number;
  host: ReleaseHost;
  /** The version the service's instances run (a new one runs the same). */
  versionOf: (service: string) => string | undefined;
  /** Runs `change` unless a release of the service is under way (then false, and nothing runs). */
  exclusive: (service: string, change: () => Promise<void>) => Promise<boolean>;
  /** Keeps each step for the console (beside the log). */
  record: (service: string, event: ReleaseEvent) => void;
  logger: Logger;
}

const CPU_LINE = /^process_cpu_seconds_total(?:\{[^}]*\})? ([0-9.eE+-]+)$/m;

/** An instance's CPU seconds so far, from its /metrics (prom-client's process metrics): portable. */
async function cpuSeconds(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(1_000) });
    const match = CPU_LINE.exec(await response.text());
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Keeps each scaled service between its minimum and maximum instances by their CPU: every interval
 * it reads each ready instance's CPU seconds, and when the mean per instance stays above the target
 * it starts one more (ready before it counts), when it stays below it drains and stops the newest;
 * one change per cooldown, never during a release of that service. Each change is logged with the
 * figures it rests on.
 */
export class Autoscaler {
  readonly #settings: AutoscalerSettings;
  readonly #samples = new Map<string, number[]>();
  readonly #lastCpu = new Map<ServiceProcess, { at: number; seconds: number }>();
  readonly #lastChange = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(settings: AutoscalerSettings) {
    this.#settings = settings;
  }

  start(): void {
    const began = Date.now();
    for (const service of this.#settings.ranges.keys()) this.#lastChange.set(service, began);
    this.#timer = setInterval(() => {
      this.#ticking ??= this.#tick().finally(() => {
        this.#ticking = undefined;
      });
    }, this.#settings.intervalMs);
    this.#timer.unref();
  }

  /** No more samples; resolves when a change under way has ended (the platform stops its processes meanwhile). */
  stop(): Promise<void> {
    clearInterval(this.#timer);
    return this.#ticking ?? Promise.resolve();
  }

  async #tick(): Promise<void> {
    await Promise.all([...this.#settings.ranges].map(([service, range]) => this.#follow(service, range)));
  }

  async #follow(service: string, range: AutoscaleRange): Promise<void> {
    const { host, policy } = this.#settings;
    const instances = host.instances(service).filter((instance) => instance.info().state === 'ready');
    const share = await this.#meanCpu(instances);
    const samples = this.#samples.get(service) ?? [];
    if (share !== undefined) samples.push(share);
    if (samples.length > Math.max(policy.upAfter, policy.downAfter)) samples.shift();
    this.#samples.set(service, samples);
    const since = Date.now() - (this.#lastChange.get(service) ?? 0);
    const decision = decideScale(samples, host.instances(service).length, range, policy, since);
    if (!decision) return;
    const ran = await this.#settings.exclusive(service, async () => {
      const before = host.instances(service).length;
      const after = before + decision.change;
      const emit = this.#log(service);
      emit({ step: 'planned', message: `${service} ${before} → ${after} instances (${decision.why})` });
      if (decision.change > 0) await this.#addInstance(service, emit);
      else await this.#removeInstance(service, emit);
    });
    if (!ran) return;
    this.#lastChange.set(service, Date.now());
    this.#samples.set(service, []);
  }

  /** Mean CPU share of one core per instance since the last sample; undefined before two samples. */
  async #meanCpu(instances: readonly ServiceProcess[]): Promise<number | undefined> {
    const shares: number[] = [];
    await Promise.all(
      instances.map(async (instance) => {
        const seconds = await cpuSeconds(instance.url);
        if (seconds === undefined) return;
        const at = performance.now();
        const last = this.#lastCpu.get(instance);
        this.#lastCpu.set(instance, { at, seconds });
        if (last && at > last.at)
          shares.push(Math.max(0, (seconds - last.seconds) / ((at - last.at) / 1000)));
      }),
    );
    for (const known of this.#lastCpu.keys()) if (!instances.includes(known)) this.#lastCpu.delete(known);
    return shares.length > 0 ? shares.reduce((sum, share) => sum + share, 0) / shares.length : undefined;
  }

  /** A change's steps, logged and kept: decided, started and ready (or stopped), drained and stopped. */
  #log(service: string): Emit {
    const { logger, record } = this.#settings;
    return progress((event) => {
      const said = { ...event, message: `autoscale: ${event.message}` };
      logger[event.step === 'failed' ? 'error' : 'info']({ service, ...said }, said.message);
      record(service, said);
    });
  }

  async #addInstance(service: string, emit: Emit): Promise<void> {
    const version = this.#settings.versionOf(service);
    if (!version) return;
    await startReady(this.#settings.host, service, version, emit, 'the others serve as before');
  }

  async #removeInstance(service: string, emit: Emit): Promise<void> {
    const newest = this.#settings.host.instances(service).at(-1);
    if (newest) await retireReported(this.#settings.host, newest, emit, '');
  }
}
