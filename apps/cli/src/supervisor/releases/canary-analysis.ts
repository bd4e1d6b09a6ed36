import { parsePrometheusText } from '@mercato/chassis/prometheus-text';
import { quantileMs, type Snapshot, snapshotOf } from '../../observability/red-figures.ts';
import type { ServiceProcess } from '../service-process.ts';

/** What an analysis holds a canary to (Flagger's and Argo Rollouts' usual checks). */
export interface AnalysisThresholds {
  /** Calls the canary must have served in the window before it is judged (else: inconclusive). */
  minSample: number;
  /** Success rate at least this (%, server failures only: INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED…)… */
  minSuccessPercent: number;
  /** …and no more than this many points below the stable version's. */
  successMarginPercent: number;
  /** p99 at most this (ms)… */
  maxP99Ms: number;
  /** …and no more than this much above the stable version's (ms). */
  p99MarginMs: number;
}

export const defaultThresholds: AnalysisThresholds = {
  minSample: 200,
  minSuccessPercent: 99,
  successMarginPercent: 1,
  maxP99Ms: 500,
  p99MarginMs: 100,
};

/** RED of a set of instances over one window. */
export interface WindowFigures {
  calls: number;
  /** Calls that failed on the server's side (counted in `calls`). */
  errors: number;
  successPercent: number | null;
  p99Ms: number | null;
  /** Deliveries handled (by its consumer groups), which follow group membership, not call weights. */
  messages: number;
}

export interface Verdict {
  outcome: 'pass' | 'fail' | 'inconclusive';
  canary: WindowFigures;
  stable: WindowFigures;
  /** Each check with its figures, as logged and printed. */
  reasons: string[];
}

/**
 * One instance's cumulative gRPC server RED (HTTP is left out: health checks and scrapes are not
 * traffic) and the deliveries it handled (its share of its consumer groups' work).
 */
export const rpcSnapshot = (metricsText: string): Snapshot =>
  snapshotOf(
    parsePrometheusText(metricsText).filter(
      (family) =>
        family.name === 'rpc_server_duration_seconds' || family.name === 'consumer_handle_duration_seconds',
    ),
  );

/** One instance's gRPC RED so far; empty when it does not answer (its window then counts no calls). */
export async function scrape(instance: Pick<ServiceProcess, 'url'>): Promise<Snapshot> {
  try {
    const response = await fetch(`${instance.url}/metrics`, { signal: AbortSignal.timeout(2_000) });
    return rpcSnapshot(await response.text());
  } catch {
    return rpcSnapshot('');
  }
}

const emptyBuckets = () => new Map<number, number>();

/** The figures of a set of instances between their snapshots at the window's start and end. */
export function windowFigures(before: readonly Snapshot[], after: readonly Snapshot[]): WindowFigures {
  const add = (snapshots: readonly Snapshot[]) => {
    const buckets = emptyBuckets();
    let calls = 0;
    let errors = 0;
    let messages = 0;
    for (const snapshot of snapshots) {
      calls += snapshot.requests;
      errors += snapshot.errors;
      messages += snapshot.messages;
      for (const [bound, count] of snapshot.buckets) buckets.set(bound, (buckets.get(bound) ?? 0) + count);
    }
    return { calls, errors, buckets, messages };
  };
  const [start, end] = [add(before), add(after)];
  const calls = Math.max(0, end.calls - start.calls);
  const errors = Math.max(0, end.errors - start.errors);
  return {
    calls,
    errors,
    successPercent: calls === 0 ? null : (100 * (calls - errors)) / calls,
    p99Ms: quantileMs(start.buckets, end.buckets, 0.99),
    messages: Math.max(0, end.messages - start.messages),
  };
}

const pct = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(2)} %`);
const ms = (value: number | null) => (value === null ? 'n/a' : `${Math.round(value)} ms`);

/** Judges the canary against its thresholds and against the stable version over the same window. */
export function judge(canary: WindowFigures, stable: WindowFigures, thresholds: AnalysisThresholds): Verdict {
  if (canary.calls < thresholds.minSample) {
    // Too few calls to judge a pass, but perhaps enough failures to judge a fail: if every call still
    // missing from the minimum sample succeeded, would the canary still fall short? Then waiting for
    // more calls only serves more errors (a failing canary that callers eject gets few calls).
    const bestPercent = (100 * (thresholds.minSample - canary.errors)) / thresholds.minSample;
    if (bestPercent < thresholds.minSuccessPercent)
      return {
        outcome: 'fail',
        canary,
        stable,
        reasons: [
          `FAILED: ${canary.errors} of ${canary.calls} canary calls failed; even if the next ${thresholds.minSample - canary.calls} succeeded, success would be ${pct(bestPercent)} < ${thresholds.minSuccessPercent} %`,
        ],
      };
    return {
      outcome: 'inconclusive',
      canary,
      stable,
      reasons: [`${canary.calls} canary calls, fewer than the ${thresholds.minSample} needed to judge`],
    };
  }
  const reasons: string[] = [];
  let failed = false;
  const check = (ok: boolean, text: string) => {
    if (!ok) failed = true;
    reasons.push(`${ok ? 'ok' : 'FAILED'}: ${text}`);
  };
  const success = canary.successPercent ?? 0;
  check(
    success >= thresholds.minSuccessPercent,
    `success ${pct(canary.successPercent)} ≥ ${thresholds.minSuccessPercent} %`,
  );
  if (stable.successPercent !== null)
    check(
      success >= stable.successPercent - thresholds.successMarginPercent,
      `success ${pct(canary.successPercent)} vs stable ${pct(stable.successPercent)} (margin ${thresholds.successMarginPercent} points)`,
    );
  const p99 = canary.p99Ms ?? 0;
  check(p99 <= thresholds.maxP99Ms, `p99 ${ms(canary.p99Ms)} ≤ ${thresholds.maxP99Ms} ms`);
  if (stable.p99Ms !== null)
    check(
      p99 <= stable.p99Ms + thresholds.p99MarginMs,
      `p99 ${ms(canary.p99Ms)} vs stable ${ms(stable.p99Ms)} (margin ${thresholds.p99MarginMs} ms)`,
    );
  return { outcome: failed ? 'fail' : 'pass', canary, stable, reasons };
}

/**
 * The canary's share of the window's deliveries, beside its share of calls: in a competing-consumer
 * group it is one more member, so it takes about 1/(n+1) of the messages whatever its weight.
 */
export function messageShare(canary: WindowFigures, stable: WindowFigures): string | undefined {
  const total = canary.messages + stable.messages;
  if (total === 0) return undefined;
  return `deliveries: canary ${canary.messages} of ${total} (${((100 * canary.messages) / total).toFixed(0)} %)`;
}
