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
    | 'rolling-back';
  instance?: string;
  version?: string;
  message: string;
  /** A canary's analysis: the figures each decision rests on. */
  analysis?: Verdict;
}

/** What a release needs from the platform: its instances, a new one, and retiring an old one. */
export interface ReleaseHost {
  /** The service's instances that are not being retired, in start order. */
  instances: (service: string) => ServiceProcess[];
  /** Starts one more instance of `service` running `version`, on ports of its own. */
  launch: (service: string, version: string) => Promise<ServiceProcess>;
  /** Takes it out of the registry, lets in-flight calls finish, stops it (SIGTERM) and forgets it. */
  retire: (process: ServiceProcess) => Promise<void>;
  /** The instances' weights changed: the registry (and every caller's balancer) follows. */
  changed: () => void;
  readyTimeoutMs: number;
}

/**
 * A rolling release (Kubernetes' RollingUpdate with maxSurge 1, maxUnavailable 0): for each
 * instance not on `version`, one new instance is started and must be ready before the old one is
 * drained and stopped, so the service never has fewer ready instances than it had. A new instance
 * that does not become ready stops the release where it is: the old instances left keep serving,
 * and the event says how many were replaced.
 */
export async function rollingRelease(
  host: ReleaseHost,
  service: string,
  version: string,
  report: (event: ReleaseEvent) => void,
): Promise<boolean> {
  const began = performance.now();
  const emit = (event: Omit<ReleaseEvent, 'at_ms'>) =>
    report({ at_ms: Math.round(performance.now() - began), ...event });
  const old = host.instances(service).filter((instance) => instance.version !== version);
  if (old.length === 0) {
    emit({ step: 'nothing-to-do', version, message: `every instance of ${service} runs ${version}` });
    return true;
  }
  emit({
    step: 'planned',
    version,
    message: `rolling ${old.length} instance(s) of ${service} to ${version}: one new instance ready before each old one is drained`,
  });
  let replaced = 0;
  for (const retiring of old) {
    const fresh = await host.launch(service, version);
    emit({ step: 'starting', instance: fresh.name, version, message: `starting ${fresh.name}` });
    try {
      await fresh.waitReady(host.readyTimeoutMs, undefined, { failOnExit: true });
    } catch (error) {
      await host.retire(fresh);
      emit({
        step: 'failed',
        instance: fresh.name,
        version,
        message: `${fresh.name} did not become ready (${(error as Error).message}); stopped after ${replaced} of ${old.length} replaced, the others still run ${retiring.version}`,
      });
      return false;
    }
    emit({
      step: 'ready',
      instance: fresh.name,
      version,
      message: `${fresh.name} is ready and in the registry`,
    });
    emit({
      step: 'draining',
      instance: retiring.name,
      version: retiring.version,
      message: `${retiring.name} out of the registry; its in-flight calls finish, then SIGTERM`,
    });
    await host.retire(retiring);
    replaced += 1;
    emit({
      step: 'retired',
      instance: retiring.name,
      version: retiring.version,
      message: `${retiring.name} stopped (${replaced} of ${old.length})`,
    });
  }
  emit({ step: 'released', version, message: `${service} runs ${version} on ${old.length} instance(s)` });
  return true;
}
