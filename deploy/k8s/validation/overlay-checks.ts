import type { CallPolicy } from '../policy/policy-schema.ts';
import { analysisProblems } from './analysis-invariants.ts';
import { meshProblems } from './mesh-invariants.ts';
import { platformProblems, type Scale } from './platform-invariants.ts';
import type { RenderedObject } from './rendered-object.ts';
import { rolloutProblems } from './rollout-invariants.ts';
import { workloadProblems } from './workload-invariants.ts';

/** The overlays, in the order they build on each other, and what each must satisfy. */
export const overlays: ReadonlyArray<{ name: string; scale: Scale; mesh: boolean; rollouts: boolean }> = [
  { name: 'dev', scale: 'dev', mesh: false, rollouts: false },
  { name: 'prod', scale: 'prod', mesh: false, rollouts: false },
  { name: 'istio', scale: 'prod', mesh: true, rollouts: false },
  { name: 'argo-rollouts', scale: 'prod', mesh: true, rollouts: true },
];

/** Every invariant of one overlay's rendered objects; each problem names the object and the field. */
export async function invariantProblems(
  overlay: (typeof overlays)[number],
  objects: readonly RenderedObject[],
  policy: CallPolicy,
): Promise<string[]> {
  return [
    ...workloadProblems(objects, policy),
    ...platformProblems(objects, policy, overlay.scale),
    ...(overlay.mesh ? meshProblems(objects, policy) : []),
    ...(overlay.rollouts ? [...rolloutProblems(objects), ...(await analysisProblems(objects))] : []),
  ];
}
