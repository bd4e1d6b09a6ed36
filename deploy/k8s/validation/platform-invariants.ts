import * as z from 'zod';
import { NAME_LABEL } from '../platform-ports.ts';
import type { CallPolicy } from '../policy/policy-schema.ts';
import { deployedServices } from './platform-catalog.ts';
import { idOf, type RenderedObject } from './rendered-object.ts';
import { selectorShape, workloadKinds, workloadOf } from './workload-shapes.ts';

const clusterScoped = new Set(['Namespace']);

const networkPolicyShape = z.looseObject({
  spec: z.looseObject({
    podSelector: z.looseObject({ matchLabels: z.record(z.string(), z.string()).default({}) }),
    ingress: z
      .array(
        z.looseObject({
          from: z
            .array(
              z.looseObject({
                podSelector: z
                  .looseObject({ matchLabels: z.record(z.string(), z.string()).default({}) })
                  .optional(),
                namespaceSelector: z.looseObject({}).optional(),
              }),
            )
            .optional(),
        }),
      )
      .default([]),
  }),
});

const autoscalerShape = z.looseObject({
  spec: z.looseObject({
    minReplicas: z.number().optional(),
    maxReplicas: z.number(),
    scaleTargetRef: z.looseObject({ kind: z.string(), name: z.string() }),
  }),
});

/** No credential is written in the manifests: every Secret comes from the cluster (CNPG, or a person). */
function secretProblems(objects: readonly RenderedObject[]): string[] {
  const problems: string[] = [];
  const clusters = new Set(objects.filter((o) => o.kind === 'Cluster').map((o) => o.metadata.name));
  for (const object of objects) {
    if (object.kind === 'Secret' && ('data' in object || 'stringData' in object))
      problems.push(`${idOf(object)}: a Secret with literal data; credentials come from the cluster`);
    if (!workloadKinds.has(object.kind)) continue;
    for (const container of workloadOf(object).template?.spec.containers ?? [])
      for (const variable of container.env) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (!ref) continue;
        const generated = ref.name.endsWith('-app') && clusters.has(ref.name.slice(0, -'-app'.length));
        if (!generated && !ref.optional)
          problems.push(
            `${idOf(object)} container ${container.name}: env ${variable.name} needs Secret/${ref.name}, which neither CloudNativePG writes nor is optional`,
          );
      }
  }
  return problems;
}

/** Each service's database admits its service and its own instances (and the operator), no other. */
function databaseIsolationProblems(objects: readonly RenderedObject[]): string[] {
  const problems: string[] = [];
  const policies = objects
    .filter((object) => object.kind === 'NetworkPolicy')
    .map((o) => ({
      object: o,
      spec: networkPolicyShape.parse(o).spec,
    }));
  for (const cluster of objects.filter((object) => object.kind === 'Cluster')) {
    const name = cluster.metadata.name;
    const owner = name.replace(/-db$/, '');
    const guarding = policies.filter(
      (policy) => policy.spec.podSelector.matchLabels['cnpg.io/cluster'] === name,
    );
    if (guarding.length === 0) {
      problems.push(`${idOf(cluster)}: no NetworkPolicy guards it (only ${owner} may reach it)`);
      continue;
    }
    for (const { object, spec } of guarding)
      for (const rule of spec.ingress)
        for (const peer of rule.from ?? []) {
          const app = peer.podSelector?.matchLabels[NAME_LABEL];
          if (app !== undefined && app !== owner)
            problems.push(`${idOf(object)}: lets ${app} reach ${name}; only ${owner} may`);
          if (!peer.podSelector && !peer.namespaceSelector)
            problems.push(`${idOf(object)}: an ingress peer that admits anyone`);
        }
  }
  return problems;
}

export type Scale = 'dev' | 'prod';

/** dev: one pod per service, no autoscaler; prod: an autoscaler from ≥ 2 and a budget that keeps one. */
function scaleProblems(objects: readonly RenderedObject[], scale: Scale): string[] {
  const problems: string[] = [];
  const autoscalers = objects.filter((object) => object.kind === 'HorizontalPodAutoscaler');
  const budgets = objects.filter((object) => object.kind === 'PodDisruptionBudget');
  for (const spec of deployedServices) {
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === spec.name);
    const rollout = objects.find((o) => o.kind === 'Rollout' && o.metadata.name === spec.name);
    const autoscaler = autoscalers.find((o) => o.metadata.name === spec.name);
    const budget = budgets.find((o) => o.metadata.name === spec.name);
    if (scale === 'dev') {
      if (deployment && workloadOf(deployment).replicas !== 1)
        problems.push(`${idOf(deployment)}: dev runs one replica (spec.replicas: 1)`);
      if (autoscaler) problems.push(`${idOf(autoscaler)}: dev has no autoscaling`);
      continue;
    }
    if (!autoscaler) {
      problems.push(`${spec.name}: no HorizontalPodAutoscaler`);
      continue;
    }
    const { minReplicas = 1, maxReplicas, scaleTargetRef } = autoscalerShape.parse(autoscaler).spec;
    if (minReplicas < 2)
      problems.push(`${idOf(autoscaler)}: spec.minReplicas ${minReplicas}, at least 2 in prod`);
    if (maxReplicas < minReplicas) problems.push(`${idOf(autoscaler)}: spec.maxReplicas below minReplicas`);
    const target = rollout ?? deployment;
    if (!target || scaleTargetRef.kind !== target.kind || scaleTargetRef.name !== target.metadata.name)
      problems.push(`${idOf(autoscaler)}: scaleTargetRef must be ${target ? idOf(target) : spec.name}`);
    const minAvailable = budget ? selectorShape.parse(budget).spec.minAvailable : undefined;
    if (!budget || typeof minAvailable !== 'number' || minAvailable < 1)
      problems.push(`PodDisruptionBudget/${spec.name}: spec.minAvailable must be at least 1 in prod`);
  }
  return problems;
}

/** Everything in the policy's namespace, no Secret literal, databases isolated, scaled for the overlay. */
export function platformProblems(
  objects: readonly RenderedObject[],
  policy: CallPolicy,
  scale: Scale,
): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    if (clusterScoped.has(object.kind)) continue;
    if (object.metadata.namespace !== policy.namespace)
      problems.push(
        `${idOf(object)}: metadata.namespace ${object.metadata.namespace} is not the policy's ${policy.namespace}`,
      );
  }
  if (!objects.some((object) => object.kind === 'Namespace' && object.metadata.name === policy.namespace))
    problems.push(`Namespace/${policy.namespace} is not rendered`);
  return [
    ...problems,
    ...secretProblems(objects),
    ...databaseIsolationProblems(objects),
    ...scaleProblems(objects, scale),
  ];
}
