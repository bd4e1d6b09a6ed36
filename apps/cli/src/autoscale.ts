import { MAX_REPLICAS } from './replicas.ts';
import type { ServiceSpec } from './services.ts';

/** Instances of one service the supervisor keeps between `min` and `max`, by its CPU. */
export interface AutoscaleRange {
  min: number;
  max: number;
}

/**
 * `catalog=1..4,order=1..2` (MERCATO_AUTOSCALE, or `--autoscale`): the services the supervisor
 * scales between those counts. Only services found through the registry can be scaled (`fixed`
 * names those reached at a fixed address). Throws an Error whose message names the mistake.
 */
export function parseAutoscale(
  text: string,
  specs: readonly ServiceSpec[],
  fixed: ReadonlySet<string>,
): Map<string, AutoscaleRange> {
  const ranges = new Map<string, AutoscaleRange>();
  const scalable = specs.filter((spec) => spec.grpc && !fixed.has(spec.name)).map((spec) => spec.name);
  for (const part of text.split(',').map((item) => item.trim())) {
    if (part === '') continue;
    const match = /^([a-z][a-z-]*)=(\d{1,3})\.\.(\d{1,3})$/.exec(part);
    if (!match) throw new Error(`autoscale: expected service=min..max (e.g. catalog=1..4), got "${part}"`);
    const [, name = '', minText = '', maxText = ''] = match;
    if (!scalable.includes(name))
      throw new Error(
        `autoscale: ${name} cannot be scaled (${specs.some((spec) => spec.name === name) ? 'its callers reach it at a fixed address' : 'no such service'}; scalable: ${scalable.join(', ')})`,
      );
    const [min, max] = [Number(minText), Number(maxText)];
    if (min < 1 || max > MAX_REPLICAS || min > max)
      throw new Error(`autoscale: ${name}=${min}..${max} is out of range (1 ≤ min ≤ max ≤ ${MAX_REPLICAS})`);
    if (ranges.has(name)) throw new Error(`autoscale: ${name} is named twice`);
    ranges.set(name, { min, max });
  }
  return ranges;
}

export interface ScalePolicy {
  /** Scale up when the mean CPU per instance stays at or above this share of one core (0..1)… */
  upAbove: number;
  /** …for this many samples in a row. */
  upAfter: number;
  /** Scale down when it stays at or below this share… */
  downBelow: number;
  /** …for this many samples in a row. */
  downAfter: number;
  /** No decision within this long after the last change. */
  cooldownMs: number;
}

export type ScaleDecision = { change: 1 | -1; why: string } | undefined;

/**
 * Whether to add or remove an instance, from the last samples of mean CPU per instance (newest
 * last): sustained load only, never past the range, and not within the cooldown.
 */
export function decideScale(
  samples: readonly number[],
  instances: number,
  range: AutoscaleRange,
  policy: ScalePolicy,
  msSinceLastChange: number,
): ScaleDecision {
  if (msSinceLastChange < policy.cooldownMs) return undefined;
  const percent = (share: number) => `${Math.round(share * 100)} %`;
  const last = (count: number) => (samples.length >= count ? samples.slice(-count) : undefined);
  if (instances < range.min) return { change: 1, why: `below the minimum of ${range.min}` };
  if (instances > range.max) return { change: -1, why: `above the maximum of ${range.max}` };
  const high = last(policy.upAfter);
  if (instances < range.max && high?.every((share) => share >= policy.upAbove))
    return {
      change: 1,
      why: `CPU per instance ${high.map(percent).join(', ')} of a core, at or above ${percent(policy.upAbove)} for ${policy.upAfter} samples`,
    };
  const low = last(policy.downAfter);
  if (instances > range.min && low?.every((share) => share <= policy.downBelow))
    return {
      change: -1,
      why: `CPU per instance at or below ${percent(policy.downBelow)} of a core for ${policy.downAfter} samples (last ${percent(low.at(-1) ?? 0)})`,
    };
  return undefined;
}
