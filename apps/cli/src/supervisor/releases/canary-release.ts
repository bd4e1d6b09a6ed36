import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AnalysisThresholds,
  judge,
  messageShare,
  scrape,
  type Verdict,
  windowFigures,
} from './canary-analysis.ts';
import { begin, type ReleaseEvent, type ReleaseHost, retireReported, startReady } from './release-steps.ts';

export interface CanarySettings {
  /** Traffic shares (%) the canary is held at in turn before it is promoted; 100 is the promotion. */
  steps: readonly number[];
  /** How long each analysis window lasts. */
  intervalMs: number;
  /**
   * How long the canary takes its first share before the first window opens (Argo Rollouts'
   * `initialDelay`): a process just started compiles as it serves, and its first calls are slow.
   */
  warmupMs: number;
  thresholds: AnalysisThresholds;
  /** Windows in a row without enough canary calls before the release gives up (rolls back). */
  maxInconclusive: number;
}

export const defaultSteps = [5, 25, 50] as const;

/**
 * A canary release (Flagger's and Argo Rollouts' progressive delivery, here in the supervisor): one
 * instance of the new version is started beside the stable ones and given 5 %, then 25 %, then
 * 50 % of the service's calls by weight in the registry (each caller's balancer picks by weight).
 * Each step is held for an interval while the canary's RED over that window is compared with its
 * thresholds and with the stable instances' over the same window; too few canary calls is
 * inconclusive and the step is held again. A failed analysis rolls back at once (the canary is
 * drained and stopped, the stable instances keep all the calls); a passed last step promotes:
 * the stable instances are replaced by the new version one at a time, the canary taking the
 * place of the last. Every decision is reported with the figures it rests on.
 */
export async function canaryRelease(
  host: ReleaseHost,
  service: string,
  version: string,
  settings: CanarySettings,
  report: (event: ReleaseEvent) => void,
): Promise<boolean> {
  const started = begin(
    host,
    service,
    version,
    report,
    (old) =>
      `canary of ${service} ${version} beside ${old.length} stable instance(s): ${settings.steps.join(' % → ')} % of calls, ${settings.intervalMs} ms per analysis, at least ${settings.thresholds.minSample} canary calls each; as a consumer it is one more member of each of its groups, taking about 1/${old.length + 1} of their deliveries whatever its share of calls`,
  );
  if (!started) return true;
  const { emit, old: stable } = started;
  // No calls until the first step gives it its share.
  const canary = await startReady(
    host,
    service,
    version,
    emit,
    'the stable instances kept every call',
    (started) => {
      started.weight = 0;
      // Requests with `x-mercato-canary: always` go to it from the start.
      started.canary = true;
    },
  );
  if (!canary) return false;
  const setWeights = (share: number | undefined) => {
    canary.weight = share;
    for (const instance of stable)
      instance.weight = share === undefined ? undefined : (100 - share) / stable.length;
    host.changed();
  };
  const rollBack = async (why: string, verdict?: Verdict): Promise<false> => {
    canary.weight = 0;
    host.changed();
    emit({
      step: 'rolling-back',
      instance: canary.name,
      version,
      message: `rolling back: ${why}`,
      ...(verdict ? { analysis: verdict } : {}),
    });
    await host.retire(canary);
    setWeights(undefined);
    emit({
      step: 'failed',
      version,
      message: `rolled back: ${canary.name} stopped, ${stable.length} stable instance(s) serve every call`,
    });
    return false;
  };

  for (const [index, share] of settings.steps.entries()) {
    setWeights(share);
    const warmup = index === 0 ? settings.warmupMs : 0;
    emit({
      step: 'weight',
      instance: canary.name,
      version,
      message: `canary at ${share} % of calls${warmup > 0 ? `; the first window opens after ${warmup} ms of warm-up` : ''}`,
    });
    await sleep(warmup);
    for (let inconclusive = 0; ; ) {
      const before = await Promise.all([scrape(canary), ...stable.map(scrape)]);
      await sleep(settings.intervalMs);
      const after = await Promise.all([scrape(canary), ...stable.map(scrape)]);
      const verdict = judge(
        windowFigures(before.slice(0, 1), after.slice(0, 1)),
        windowFigures(before.slice(1), after.slice(1)),
        settings.thresholds,
      );
      emit({
        step: 'analysis',
        instance: canary.name,
        version,
        message: `${verdict.outcome} at ${share} %: ${verdict.canary.calls} canary calls, ${verdict.stable.calls} stable; ${[...verdict.reasons, messageShare(verdict.canary, verdict.stable) ?? []].flat().join('; ')}`,
        analysis: verdict,
      });
      if (verdict.outcome === 'pass') break;
      if (verdict.outcome === 'fail') return rollBack(`the analysis at ${share} % failed`, verdict);
      inconclusive += 1;
      if (inconclusive >= settings.maxInconclusive)
        return rollBack(
          `${inconclusive} windows in a row at ${share} % without ${settings.thresholds.minSample} canary calls`,
          verdict,
        );
    }
  }

  emit({
    step: 'promoting',
    instance: canary.name,
    version,
    message: `promoting ${version}: replacing the stable instances`,
  });
  canary.canary = false;
  setWeights(undefined);
  for (const [index, retiring] of stable.entries()) {
    // The canary takes the place of the last one.
    const then = `promotion stopped with ${index} of ${stable.length} stable instances replaced`;
    if (index < stable.length - 1 && !(await startReady(host, service, version, emit, then))) return false;
    await retireReported(host, retiring, emit, ` (${index + 1} of ${stable.length})`);
  }
  emit({ step: 'released', version, message: `${service} runs ${version} on ${stable.length} instance(s)` });
  return true;
}
