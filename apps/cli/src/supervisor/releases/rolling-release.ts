import { begin, type ReleaseEvent, type ReleaseHost, retireReported, startReady } from './release-steps.ts';

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
  const started = begin(
    host,
    service,
    version,
    report,
    (instances) =>
      `rolling ${instances.length} instance(s) of ${service} to ${version}: one new instance ready before each old one is drained`,
  );
  if (!started) return true;
  const { emit, old } = started;
  for (const [replaced, retiring] of old.entries()) {
    const then = `stopped after ${replaced} of ${old.length} replaced, the others still run ${retiring.version}`;
    if (!(await startReady(host, service, version, emit, then))) return false;
    await retireReported(host, retiring, emit, ` (${replaced + 1} of ${old.length})`);
  }
  emit({ step: 'released', version, message: `${service} runs ${version} on ${old.length} instance(s)` });
  return true;
}
