import type { ServiceProcess } from '../service-process.ts';
import type { Verdict } from './canary-analysis.ts';

/** One line of a release's progress, as the CLI prints it and the log keeps it. */
export interface ReleaseEvent {
  /** ms since the release began. */
  at_ms: number;
  step:
    | 'planned'
    | 'starting'
    | 'ready'
    | 'draining'
    | 'retired'
    | 'released'
    | 'failed'
    | 'nothing-to-do'
    | 'weight'
    | 'analysis'
    | 'promoting'
    | 'rolling-back'
    | 'smoke'
    | 'switched';
  instance?: string;
  version?: string;
  message: string;
  /** A canary's analysis: the figures each decision rests on. */
  analysis?: Verdict;
}

/** What a release needs from the platform: its instances, a new one, and retiring an old one. */
export interface ReleaseHost {
  /** The service's active instances that are not being retired, in start order. */
  instances: (service: string) => ServiceProcess[];
  /** Its standby instances: the colour a blue-green release switched away from. */
  standbys: (service: string) => ServiceProcess[];
  /** Starts one more instance of `service` running `version`, on ports of its own. */
  launch: (service: string, version: string, role?: 'active' | 'standby') => Promise<ServiceProcess>;
  /** Takes it out of the registry, lets in-flight calls finish, stops it (SIGTERM) and forgets it. */
  retire: (process: ServiceProcess) => Promise<void>;
  /** The instances' weights changed: the registry (and every caller's balancer) follows. */
  changed: () => void;
  readyTimeoutMs: number;
}

export type Emit = (event: Omit<ReleaseEvent, 'at_ms'>) => void;

/** Stamps each event with the ms since the release began. */
export function progress(report: (event: ReleaseEvent) => void): Emit {
  const began = performance.now();
  return (event) => report({ at_ms: Math.round(performance.now() - began), ...event });
}

/** The service's instances not on `version`; none (reported as nothing to do) when all are. */
export function outdated(host: ReleaseHost, service: string, version: string, emit: Emit): ServiceProcess[] {
  const old = host.instances(service).filter((instance) => instance.version !== version);
  if (old.length === 0)
    emit({ step: 'nothing-to-do', version, message: `every instance of ${service} runs ${version}` });
  return old;
}

/**
 * A release's first steps: its progress stamps, the instances not on `version` yet and the plan
 * for them, reported; undefined (reported as nothing to do) when every instance runs it already.
 */
export function begin(
  host: ReleaseHost,
  service: string,
  version: string,
  report: (event: ReleaseEvent) => void,
  plan: (old: readonly ServiceProcess[]) => string,
): { emit: Emit; old: ServiceProcess[] } | undefined {
  const emit = progress(report);
  const old = outdated(host, service, version, emit);
  if (old.length === 0) return undefined;
  emit({ step: 'planned', version, message: plan(old) });
  return { emit, old };
}

/**
 * Starts one more instance of `version` and waits until it is ready (a crash fails it at once);
 * `configure` sets it up before it can be ready (a canary's weight 0). When it is not ready, it is
 * stopped, `failed` is reported with `then` (what that leaves running) and undefined returned.
 */
export async function startReady(
  host: ReleaseHost,
  service: string,
  version: string,
  emit: Emit,
  then: string,
  configure: (instance: ServiceProcess) => void = () => undefined,
  role: 'active' | 'standby' = 'active',
): Promise<ServiceProcess | undefined> {
  const fresh = await host.launch(service, version, role);
  configure(fresh);
  emit({ step: 'starting', instance: fresh.name, version, message: `starting ${fresh.name}` });
  try {
    await fresh.waitReady(host.readyTimeoutMs, undefined, { failOnExit: true });
  } catch (error) {
    await host.retire(fresh);
    emit({
      step: 'failed',
      instance: fresh.name,
      version,
      message: `${fresh.name} did not become ready (${(error as Error).message}); ${then}`,
    });
    return undefined;
  }
  emit({
    step: 'ready',
    instance: fresh.name,
    version,
    message: `${fresh.name} is ready and in the registry`,
  });
  return fresh;
}

/** Drains `retiring` (out of the registry, in-flight calls finish) and stops it, reporting both. */
export async function retireReported(
  host: ReleaseHost,
  retiring: ServiceProcess,
  emit: Emit,
  done: string,
): Promise<void> {
  const { name, version } = retiring;
  emit({
    step: 'draining',
    instance: name,
    version,
    message: `${name} out of the registry; its in-flight calls finish, then SIGTERM`,
  });
  await host.retire(retiring);
  emit({ step: 'retired', instance: name, version, message: `${name} stopped${done}` });
}
