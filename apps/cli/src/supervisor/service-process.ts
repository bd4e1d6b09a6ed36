import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { EXIT_CONFIG } from '@mercato/chassis/config';
import type { Logger } from '@mercato/chassis/logging';
import type { LogOutput } from './log-output.ts';
import { nextRestart } from './restart-backoff.ts';

export interface ServiceProcessOptions {
  /** The process's name: its service's, or `<service>-<n>` for a further instance. */
  name: string;
  /** The service it is an instance of (default: `name`). */
  service?: string;
  /** Its gRPC address, when it serves gRPC (what the registry hands its callers). */
  grpcUrl?: string;
  /**
   * Its ports are its own to pick (PORT=0, GRPC_PORT=0): `url` and `grpcUrl` are learned from the
   * `mercato.listening` message it sends over its IPC channel once it listens, and a restart asks for
   * the same ports again, so its address stays what its callers were told.
   */
  learnsAddresses?: boolean;
  /** Called whenever it starts, becomes ready, drains or exits (the registry follows it). */
  onChange?: () => void;
  /** The version it runs (`<label>@<hash>`), as the registry shows it. */
  version?: string;
  /** Its role when it starts (default active; see `setRole`). */
  role?: 'active' | 'standby';
  cwd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  url: string;
  output: LogOutput;
  logger: Logger;
  /** Called with the new pid each time the process (re)starts. */
  onSpawn?: () => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where a process is in its life, as the console shows it. */
export type ProcessState = 'starting' | 'ready' | 'restarting' | 'stopped' | 'stopping' | 'failed';

export interface ProcessInfo {
  name: string;
  state: ProcessState;
  pid: number | null;
  url: string;
  /** Times it was started again after it died (or was killed). */
  restarts: number;
  /** When the current process started (epoch ms), null when none runs. */
  started_at: number | null;
  last_exit: { at: number; code: number | null; signal: string | null } | null;
}

/** One service as an OS process: spawned, its output merged, restarted with backoff when it dies. */
export class ServiceProcess {
  readonly name: string;
  readonly service: string;
  /** Its HTTP address ('' until a process that picks its own ports says where it listens). */
  url: string;
  grpcUrl: string | undefined;
  readonly version: string;
  readonly #options: ServiceProcessOptions;
  #child: ChildProcess | undefined;
  #stopping = false;
  /** Quick failures in a row (restart-backoff.ts). */
  #failures = 0;
  #startedAt = 0;
  /** Whether the current process has answered /readyz with 200. */
  #ready = false;
  #restartTimer: NodeJS.Timeout | undefined;
  /** Set while a deliberate restart (a new build) replaces the process. */
  #replacing = false;
  /** Set when the process exits in a way a restart cannot fix (bad configuration). */
  fatal: string | undefined;
  readonly #stderrTail: string[] = [];
  /** Stopped by an operator (the console), not by a crash: not restarted until asked. */
  #held = false;
  #restarts = 0;
  /**
   * Its share of its service's calls relative to the other instances' (the registry's `weight`):
   * set by a canary release, undefined (1, an equal share) otherwise.
   */
  weight: number | undefined;
  /** A canary release's canary: a request with `x-mercato-canary: always` is sent to it. */
  canary = false;
  /** Taken out of the registry before it is stopped (a release retires it): sent no new calls. */
  #draining = false;
  /**
   * `standby`: a blue-green release's other colour, which takes no deliveries and runs no duties
   * (its weight is 0 too, so callers send it nothing). A restart keeps the role (MERCATO_ROLE).
   */
  #role: 'active' | 'standby';
  #lastExit: ProcessInfo['last_exit'] = null;
  /** With `learnsAddresses`: the ports the last ready process reported. */
  #ports: { http: string; grpc: string | undefined } | undefined;

  constructor(options: ServiceProcessOptions) {
    this.name = options.name;
    this.service = options.service ?? options.name;
    this.url = options.url;
    this.grpcUrl = options.grpcUrl;
    this.version = options.version ?? 'current';
    this.#role = options.role ?? 'active';
    this.#options = options;
  }

  /** The running process's pid; undefined once it exited, with a code or by a signal (kill -9). */
  get pid(): number | undefined {
    const child = this.#child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Out of the registry from now on: callers send it no new calls; in-flight ones finish. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.#options.onChange?.();
  }

  get lastError(): string {
    return this.#stderrTail.join(' | ');
  }

  info(): ProcessInfo {
    const running = this.pid !== undefined;
    const state: ProcessState = this.fatal
      ? 'failed'
      : this.#held
        ? running
          ? 'stopping'
          : 'stopped'
        : !running || this.#restartTimer
          ? 'restarting'
          : this.#ready
            ? 'ready'
            : 'starting';
    return {
      name: this.name,
      state,
      pid: this.pid ?? null,
      url: this.url,
      restarts: this.#restarts,
      started_at: running ? this.#startedAt : null,
      last_exit: this.#lastExit,
    };
  }

  start(): void {
    const { cwd, args, env, output, name } = this.#options;
    this.#startedAt = Date.now();
    this.#ready = false;
    // Own process group: a terminal's Ctrl-C reaches only the supervisor, which stops services in
    // order. The IPC channel lets a service notice that the supervisor died and exit too.
    const ports = this.#learnedPorts();
    if (this.#options.learnsAddresses) {
      // No address until this process says where it listens: nothing answering at the last one
      // (another process that took the port) is taken for it.
      this.url = '';
      this.grpcUrl = undefined;
    }
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...env, ...ports, MERCATO_ROLE: this.#role },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    this.#child = child;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) =>
      output.line(name, line),
    );
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      this.#stderrTail.push(line);
      if (this.#stderrTail.length > 5) this.#stderrTail.shift();
      output.line(name, line, 'stderr');
    });
    child.on('exit', (code, signal) => {
      this.#exited(child, code, signal);
      this.#options.onChange?.();
    });
    if (this.#options.learnsAddresses) {
      let reported = false;
      child.on('message', (message) => {
        // One report per process, and only from the current one.
        if (reported || child !== this.#child) return;
        reported = this.#listening(message);
      });
    }
    this.#options.onSpawn?.();
    this.#options.onChange?.();
  }

  /**
   * A `mercato.listening` message: where the process listens now (its ports were its own to pick).
   * Says whether it was one (and taken).
   */
  #listening(message: unknown): boolean {
    const { type, http, grpc } = (message ?? {}) as { type?: unknown; http?: unknown; grpc?: unknown };
    if (type !== 'mercato.listening' || typeof http !== 'string') return false;
    const loopback = (address: string) => /^https?:\/\/127\.0\.0\.1:\d+$/.test(address);
    if (
      !loopback(http) ||
      (grpc !== null && grpc !== undefined && (typeof grpc !== 'string' || !loopback(grpc)))
    ) {
      this.#options.logger.warn(
        { child: this.name, http, grpc },
        `${this.name} reported an address off loopback; ignored`,
      );
      return false;
    }
    this.url = http;
    if (typeof grpc === 'string') this.grpcUrl = grpc;
    this.#ports = {
      http: new URL(http).port,
      grpc: typeof grpc === 'string' ? new URL(grpc).port : undefined,
    };
    this.#options.onSpawn?.();
    this.#options.onChange?.();
    return true;
  }

  /**
   * The ports it picked, asked for again on a restart so that its address stays what its callers
   * were told. Forgotten when a start dies before it is ready (the port may have been taken since,
   * by a listener or as the local end of a connection): the next start picks anew and reports it.
   */
  #learnedPorts(): Record<string, string> {
    if (!this.#options.learnsAddresses || !this.#ports) return {};
    const { http, grpc } = this.#ports;
    return { PORT: http, ...(grpc ? { GRPC_PORT: grpc } : {}) };
  }

  #exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child === this.#child) this.#lastExit = { at: Date.now(), code, signal };
    if (child === this.#child && !this.#ready) this.#ports = undefined;
    if (child !== this.#child || this.#stopping || this.#replacing || this.#held) return;
    const { logger, name } = this.#options;
    if (code === EXIT_CONFIG) {
      this.fatal = this.lastError || `${name} exited with a configuration error`;
      logger.error({ child: name, code }, `${name} has a configuration error; not restarting`);
      return;
    }
    const { delayMs: delay, failures } = nextRestart(this.#failures, {
      uptimeMs: Date.now() - this.#startedAt,
      becameReady: this.#ready,
      signal,
    });
    this.#failures = failures;
    logger.warn(
      { child: name, code, signal, restart_in_ms: delay, attempt: failures },
      `${name} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`,
    );
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopping || this.#held) return;
      this.#restarts++;
      this.start();
      void this.waitReady(60_000).then(
        () => logger.info({ child: name, pid: this.pid }, `${name} is ready again`),
        (error: Error) => logger.error({ child: name }, `${name} did not become ready: ${error.message}`),
      );
    }, delay);
  }

  /**
   * Resolves when GET /readyz answers 200; rejects on timeout or a configuration error, and with
   * `failOnExit` as soon as the process exits (a release does not wait out restarts of a new
   * version that crashes).
   */
  async waitReady(
    timeoutMs: number,
    signal?: AbortSignal,
    options: { failOnExit?: boolean } = {},
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const child = this.#child;
    while (Date.now() < deadline) {
      signal?.throwIfAborted();
      if (this.fatal) throw new Error(this.fatal);
      if (this.#stopping) throw new Error(`${this.name} is stopping`);
      if (
        options.failOnExit &&
        (child !== this.#child || child?.exitCode !== null || child.signalCode !== null)
      )
        throw new Error(
          `${this.name} exited before it was ready${this.lastError ? `: ${this.lastError}` : ''}`,
        );
      try {
        // A process that picks its own ports has no address until it says where it listens.
        if (this.url === '') throw new Error('not listening yet');
        const response = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1_000) });
        if (response.status === 200) {
          if (child === this.#child && !this.#ready) {
            this.#ready = true;
            this.#options.onChange?.();
          }
          return;
        }
      } catch {
        // Not listening yet.
      }
      await sleep(50);
    }
    throw new Error(
      `${this.name} was not ready within ${timeoutMs} ms${this.lastError ? `: ${this.lastError}` : ''}`,
    );
  }

  get role(): 'active' | 'standby' {
    return this.#role;
  }

  /**
   * Makes the instance active or a standby: tells the running process over its IPC channel and
   * resolves once it says it has (consumers and duties started or stopped), or after `timeoutMs`
   * (rejecting). A process not running takes the role when it next starts.
   */
  async setRole(role: 'active' | 'standby', timeoutMs = 10_000): Promise<void> {
    this.#role = role;
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null || !child.connected) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', done);
        reject(new Error(`${this.name} did not confirm the ${role} role within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (message: unknown) => {
        const { type, role: set } = (message ?? {}) as { type?: unknown; role?: unknown };
        if (type !== 'mercato.role-set' || set !== role) return;
        clearTimeout(timer);
        child.off('message', done);
        resolve();
      };
      child.on('message', done);
      child.send({ type: 'mercato.role', role });
    });
  }

  /** `kill -9`, as a crash would: the supervisor restarts it as it restarts any process that died. */
  kill(): void {
    this.#child?.kill('SIGKILL');
  }

  /** Stops it (SIGTERM, then SIGKILL) and keeps it stopped until `resume()`. */
  async hold(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#held = true;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    await this.#terminate(graceMs);
  }

  /** Starts a held process again and waits until it is ready. */
  async resume(): Promise<void> {
    if (this.#stopping || !this.#held || this.pid !== undefined) return;
    this.#held = false;
    this.fatal = undefined;
    this.#restarts++;
    this.start();
    await this.waitReady(60_000);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    await this.#terminate(graceMs);
  }

  /** Replaces the process with a new one (after a rebuild) and waits until it is ready. */
  async restart(graceMs: number): Promise<void> {
    if (this.#stopping || this.#replacing) return;
    this.#replacing = true;
    clearTimeout(this.#restartTimer);
    try {
      await this.#terminate(graceMs);
    } finally {
      this.#replacing = false;
    }
    if (this.#stopping) return;
    this.fatal = undefined;
    this.#held = false;
    this.#restarts++;
    this.start();
    await this.waitReady(60_000).then(
      () => this.#options.logger.info({ child: this.name, pid: this.pid }, `${this.name} is ready again`),
      (error: Error) => this.#options.logger.error({ child: this.name }, error.message),
    );
  }

  async #terminate(graceMs: number): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const inTime = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!inTime) {
      this.#options.logger.warn(
        { child: this.name },
        `${this.name} ignored SIGTERM for ${graceMs} ms; killing it`,
      );
      child.kill('SIGKILL');
      await exited;
    }
  }
}
