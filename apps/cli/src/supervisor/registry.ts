import type { ServiceProcess } from './service-process.ts';

/**
 * How long a watch (`GET /admin/registry?after=`) waits for a change before it answers with the
 * registry as it is. Every service keeps one open, so this is how often an idle platform's fifteen
 * processes wake to ask again: a change wakes every watch at once, whatever its length.
 */
export const WATCH_MS = 240_000;

/** A named watcher not heard from for this long is gone (a watch is answered within WATCH_MS). */
const STALE_WATCHER_MS = WATCH_MS + 30_000;

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
  /**
   * Watchers that name themselves (`?watcher=`): the last revision each asked to be past, which it
   * has applied (a watch applies an answer before it asks again), and when it last asked.
   */
  readonly #watchers = new Map<string, { seen: number; at: number }>();
  readonly #heard = new Set<() => void>();

  constructor(processes: () => readonly ServiceProcess[]) {
    this.#processes = processes;
  }

  get revision(): number {
    return this.#revision;
  }

  /** A process started, became ready or exited. */
  changed(): void {
    this.#revision += 1;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /**
   * Resolves true once every watcher has applied `revision` (asked for what comes after it), or
   * false after `timeoutMs`: a drained instance is stopped only once no caller still sends it
   * calls, instead of after a fixed pause a loaded machine can outlast. A watcher not heard from for
   * longer than a watch lasts (its process is gone) is not waited for.
   */
  async propagated(revision: number, timeoutMs: number): Promise<boolean> {
    const caughtUp = () => {
      const stale = Date.now() - STALE_WATCHER_MS;
      for (const [watcher, { at }] of this.#watchers) if (at < stale) this.#watchers.delete(watcher);
      return [...this.#watchers.values()].every(({ seen }) => seen >= revision);
    };
    if (caughtUp()) return true;
    return new Promise<boolean>((resolve) => {
      const check = () => {
        if (!caughtUp()) return;
        finish(true);
      };
      const finish = (result: boolean) => {
        clearTimeout(timer);
        this.#heard.delete(check);
        resolve(result);
      };
      const timer = setTimeout(() => finish(caughtUp()), timeoutMs);
      this.#heard.add(check);
    });
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

  /**
   * The snapshot once the revision is past `after`, or as it is after `timeoutMs`. `watcher`
   * names the caller, which has applied `after`; one that goes away while waiting is forgotten.
   */
  async next(
    after: number,
    timeoutMs: number,
    signal?: AbortSignal,
    watcher?: string,
  ): Promise<RegistrySnapshot> {
    if (watcher !== undefined) {
      this.#watchers.set(watcher, { seen: after, at: Date.now() });
      for (const check of [...this.#heard]) check();
    }
    if (this.#revision > after) return this.snapshot();
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', gone);
        this.#waiters.delete(done);
        resolve();
      };
      const gone = () => {
        if (watcher !== undefined) this.#watchers.delete(watcher);
        for (const check of [...this.#heard]) check();
        done();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', gone, { once: true });
      this.#waiters.add(done);
    });
    return this.snapshot();
  }
}
