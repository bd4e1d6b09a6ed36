import * as z from 'zod';
import { defaultSteps } from '../../../apps/cli/src/supervisor/releases/canary-release.ts';
import { destinationRuleShape, virtualServiceShape } from './mesh-invariants.ts';
import { releasedServices } from './platform-catalog.ts';
import { idOf, type RenderedObject } from './rendered-object.ts';

const argument = z.looseObject({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z.looseObject({ podTemplateHashValue: z.string().optional() }).optional(),
});

const rolloutShape = z.looseObject({
  spec: z.looseObject({
    selector: z.looseObject({ matchLabels: z.record(z.string(), z.string()) }),
    workloadRef: z.looseObject({ kind: z.string(), name: z.string() }).optional(),
    strategy: z.looseObject({
      canary: z
        .looseObject({
          trafficRouting: z
            .looseObject({
              istio: z
                .looseObject({
                  virtualService: z.looseObject({
                    name: z.string(),
                    routes: z.array(z.string()).default([]),
                  }),
                  destinationRule: z.looseObject({
                    name: z.string(),
                    canarySubsetName: z.string(),
                    stableSubsetName: z.string(),
                  }),
                })
                .optional(),
            })
            .optional(),
          steps: z
            .array(
              z.looseObject({
                setWeight: z.number().optional(),
                pause: z.looseObject({}).optional(),
                analysis: z
                  .looseObject({
                    templates: z.array(z.looseObject({ templateName: z.string() })),
                    args: z.array(argument).default([]),
                  })
                  .optional(),
              }),
            )
            .default([]),
        })
        .optional(),
    }),
  }),
});

const deploymentSelector = z.looseObject({
  spec: z.looseObject({ selector: z.looseObject({ matchLabels: z.record(z.string(), z.string()) }) }),
});

/**
 * Each released service rolls out as the supervisor's canary does: a Rollout over its Deployment's
 * template, traffic split by the service's VirtualService and DestinationRule subsets, the weights
 * of `defaultSteps` (5, 25, 50, then 100), each judged by an AnalysisTemplate that is rendered, with
 * the canary and stable pod-template hashes to compare.
 */
export function rolloutProblems(objects: readonly RenderedObject[]): string[] {
  const problems: string[] = [];
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);
  for (const service of releasedServices) {
    const rollout = find('Rollout', service);
    if (!rollout) {
      problems.push(`${service}: no Rollout`);
      continue;
    }
    const owner = idOf(rollout);
    const { spec } = rolloutShape.parse(rollout);
    const ref = spec.workloadRef;
    const deployment = ref ? find(ref.kind, ref.name) : undefined;
    if (ref?.kind !== 'Deployment' || !deployment)
      problems.push(`${owner}: spec.workloadRef must name the rendered Deployment/${service}`);
    else if (
      JSON.stringify(deploymentSelector.parse(deployment).spec.selector.matchLabels) !==
      JSON.stringify(spec.selector.matchLabels)
    )
      problems.push(`${owner}: spec.selector differs from Deployment/${service}'s`);
    const canary = spec.strategy.canary;
    const istio = canary?.trafficRouting?.istio;
    if (!canary || !istio) {
      problems.push(`${owner}: spec.strategy.canary.trafficRouting.istio is missing`);
      continue;
    }
    const virtual = find('VirtualService', istio.virtualService.name);
    const routes = virtual ? virtualServiceShape.parse(virtual).spec.http : [];
    for (const name of istio.virtualService.routes)
      if (!routes.some((route) => route.name === name))
        problems.push(
          `${owner}: trafficRouting names route ${name}, not in VirtualService/${istio.virtualService.name}`,
        );
    const rule = find('DestinationRule', istio.destinationRule.name);
    const subsets = rule ? destinationRuleShape.parse(rule).spec.subsets.map((subset) => subset.name) : [];
    for (const subset of [istio.destinationRule.canarySubsetName, istio.destinationRule.stableSubsetName])
      if (!subsets.includes(subset))
        problems.push(`${owner}: subset ${subset} is not in DestinationRule/${istio.destinationRule.name}`);

    const weights = canary.steps.flatMap((step) => (step.setWeight === undefined ? [] : [step.setWeight]));
    if (JSON.stringify(weights) !== JSON.stringify(defaultSteps))
      problems.push(
        `${owner}: setWeight steps ${weights.join(', ')} differ from the supervisor's ${defaultSteps.join(', ')}`,
      );
    canary.steps.forEach((step, index) => {
      if (step.setWeight === undefined) return;
      const analysis = canary.steps
        .slice(index + 1)
        .find((next) => next.analysis || next.setWeight !== undefined)?.analysis;
      if (!analysis) {
        problems.push(
          `${owner}: spec.strategy.canary.steps[${index}] (${step.setWeight} %) is not followed by an analysis`,
        );
        return;
      }
      for (const template of analysis.templates)
        if (!find('AnalysisTemplate', template.templateName))
          problems.push(`${owner}: AnalysisTemplate/${template.templateName} is not rendered`);
      const arg = (name: string) => analysis.args.find((candidate) => candidate.name === name);
      if (arg('service')?.value !== service)
        problems.push(`${owner}: analysis arg service must be ${service}`);
      if (arg('canary-hash')?.valueFrom?.podTemplateHashValue !== 'Latest')
        problems.push(`${owner}: analysis arg canary-hash must be the Latest pod-template hash`);
      if (arg('stable-hash')?.valueFrom?.podTemplateHashValue !== 'Stable')
        problems.push(`${owner}: analysis arg stable-hash must be the Stable pod-template hash`);
    });
  }
  return problems;
}
