import type { ServiceProcess } from './service-process.ts';

/** One instance of a service as the registry lists it. */
export interface RegisteredInstance {
  instance: string;
  http: string;
  grpc: string | null;
  pid: number | null;
  /** The version it runs: `<label>@<hash>`, or `current` (the working tree's build). */
  version: string;
  /** Running, answering /readyz and not draining: callers send it calls only then. */
  ready: boolean;
  /** Being retired by a release: no new calls, its in-flight ones finish. */
  draining: boolean;
  /** Its share of calls relative to its service's other instances (a canary's is set; else 1). */
  weight: number;
  /** A canary release's canary: requests asking for it (`x-mercato-canary: always`) go to it. */
  canary: boolean;
  /**
   * `standby`: a blue-green release's other colour, kept ready to switch back to: weight 0 (sent
   * no calls), no deliveries, no duties.
   */
  role: 'active' | 'standby';
}

export interface RegistrySnapshot {
  /** Grows with every change; a watcher asks for what comes after the revision it has. */
  revision: number;
  services: Record<string, RegisteredInstance[]>;
}

/**
 * The embedded mode's service registry: the supervisor's own processes, which it starts, watches
 * and restarts, so nothing registers itself and a stray local process cannot pose as a service.
 * Each process reports its changes (started, ready, draining, exited); watchers wait for the next revision
 * (`GET /admin/registry?after=<revision>`, a long poll) instead of polling.
 */
export class Registry {
  readonly #processes: () => readonly ServiceProcess[];
  #revision = 1;
  readonly #waiters = new Set<() => void>();

  constructor(processes: () => readonly ServiceProcess[]) {
    this.#processes = processes;
  }

  /** A process started, became ready or exited. */
  changed(): void {
    this.#revision += 1;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  snapshot(): RegistrySnapshot {
    const services: Record<string, RegisteredInstance[]> = {};
    for (const process of this.#processes()) {
      const info = process.info();
      const instances = services[process.service] ?? [];
      instances.push({
        instance: process.name,
        http: process.url,
        grpc: process.grpcUrl ?? null,
        pid: info.pid,
        version: process.version,
        ready: info.state === 'ready' && !process.draining,
        draining: process.draining,
        weight: process.weight ?? 1,
        canary: process.canary,
        role: process.role,
      });
      services[process.service] = instances;
    }
    return { revision: this.#revision, services };
  }

  /** The snapshot once the revision is past `after`, or as it is after `timeoutMs`. */
  async next(after: number, timeoutMs: number, signal?: AbortSignal): Promise<RegistrySnapshot> {
    if (this.#revision > after) return this.snapshot();
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.#waiters.add(done);
    });
    return this.snapshot();
  }
}
