import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceProcess } from '../service-process.ts';
import {
  begin,
  type Emit,
  type ReleaseEvent,
  type ReleaseHost,
  retireReported,
  startReady,
} from './release-steps.ts';

export interface BlueGreenSettings {
  /**
   * How long every green instance must stay up, ready, after the last one became ready before the
   * switch (a version that crashes once it starts serving is caught here, not after the switch).
   */
  settleMs: number;
  /** Checks the green set alone (calls sent only to it); resolves with what it did, throws why not. */
  smoke: (green: readonly ServiceProcess[]) => Promise<string>;
}

/**
 * Switches which instances of a service are active, in one step: the registry's weights change in a
 * single revision (each caller's balancer follows it, so new calls go to the new active set), then
 * the new active set starts consuming and its duties, then the other stands by (its in-flight
 * deliveries finish first). During the overlap both consume: the inboxes make that safe.
 */
export async function switchOver(
  host: ReleaseHost,
  toActive: readonly ServiceProcess[],
  toStandby: readonly ServiceProcess[],
): Promise<void> {
  for (const instance of toActive) {
    instance.weight = undefined;
    instance.canary = false;
  }
  for (const instance of toStandby) {
    instance.weight = 0;
    instance.canary = false;
  }
  host.changed();
  await Promise.all(toActive.map((instance) => instance.setRole('active')));
  await Promise.all(toStandby.map((instance) => instance.setRole('standby')));
}

/**
 * A blue-green release: the whole green set (as many instances of the new version as blue has) is
 * started beside blue as standbys — weight 0, so callers send them nothing, and taking no deliveries
 * and running no duties — then checked alone (ready and staying up, plus the smoke check: calls a
 * tester routes to them with `x-mercato-canary: always`). Then all traffic switches at once and
 * blue is kept as the standby: `mercato rollback` switches back in one step. A green set that fails
 * is stopped before any call or delivery reached it; blue never stopped serving.
 */
export async function blueGreenRelease(
  host: ReleaseHost,
  service: string,
  version: string,
  settings: BlueGreenSettings,
  report: (event: ReleaseEvent) => void,
): Promise<boolean> {
  const started = begin(
    host,
    service,
    version,
    report,
    (old) =>
      `blue-green of ${service}: ${old.length} green instance(s) of ${version} beside ${old.length} blue, checked alone, then every call and delivery switched at once; blue stays as the standby`,
  );
  if (!started) return true;
  const { emit, old: blue } = started;
  const green: ServiceProcess[] = [];
  const abandon = async (why: string) => {
    for (const instance of green) await host.retire(instance);
    emit({ step: 'failed', version, message: `${why}; green stopped, blue kept every call and delivery` });
    return false;
  };
  for (const _ of blue) {
    const fresh = await startReady(
      host,
      service,
      version,
      emit,
      `${green.length} green instance(s) stopped; blue kept every call and delivery`,
      (instance) => {
        // Reached only by testers (the smoke check) until the switch.
        instance.weight = 0;
        instance.canary = true;
      },
      'standby',
    );
    if (!fresh) {
      for (const instance of green) await host.retire(instance);
      return false;
    }
    green.push(fresh);
  }
  host.changed();
  await sleep(settings.settleMs);
  const down = green.find((instance) => instance.info().state !== 'ready');
  if (down) return abandon(`${down.name} did not stay up (${down.info().state})`);
  try {
    const checked = await settings.smoke(green);
    emit({ step: 'smoke', version, message: `green passed its check: ${checked}` });
  } catch (error) {
    return abandon(`green failed its check: ${(error as Error).message}`);
  }
  await switchOver(host, green, blue);
  emit({
    step: 'switched',
    version,
    message: `every call and delivery of ${service} goes to ${green.map((instance) => instance.name).join(', ')}; blue (${blue.map((instance) => instance.name).join(', ')}) stands by`,
  });
  emit({
    step: 'released',
    version,
    message: `${service} runs ${version} on ${green.length} instance(s); \`mercato rollback ${service}\` switches back to blue in one step`,
  });
  return true;
}

/** Stops the standby set an earlier blue-green release kept, before a new release of the service. */
export async function retireStandbys(host: ReleaseHost, service: string, emit: Emit): Promise<void> {
  for (const standby of host.standbys(service))
    await retireReported(host, standby, emit, ' (the standby of the last blue-green release)');
}
