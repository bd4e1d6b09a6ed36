import * as z from 'zod';
import { NAME_LABEL } from '../platform-ports.ts';
import type { CallPolicy } from '../policy/policy-schema.ts';
import { idOf, type RenderedObject } from './rendered-object.ts';

const destination = z.looseObject({ host: z.string(), subset: z.string().optional() });

export const virtualServiceShape = z.looseObject({
  spec: z.looseObject({
    hosts: z.array(z.string()).default([]),
    http: z
      .array(
        z.looseObject({
          name: z.string().optional(),
          route: z.array(z.looseObject({ destination, weight: z.number().optional() })).default([]),
        }),
      )
      .default([]),
  }),
});

export const destinationRuleShape = z.looseObject({
  spec: z.looseObject({
    host: z.string(),
    trafficPolicy: z.looseObject({ outlierDetection: z.looseObject({}).optional() }).optional(),
    subsets: z.array(z.looseObject({ name: z.string() })).default([]),
  }),
});

const authorizationShape = z.looseObject({
  spec: z.looseObject({
    selector: z.looseObject({ matchLabels: z.record(z.string(), z.string()) }).optional(),
    action: z.string().optional(),
  }),
});

const podAnnotations = z.looseObject({
  spec: z.looseObject({
    template: z
      .looseObject({
        metadata: z
          .looseObject({ annotations: z.record(z.string(), z.string()).default({}) })
          .default({ annotations: {} }),
      })
      .optional(),
    inheritedMetadata: z
      .looseObject({ annotations: z.record(z.string(), z.string()).default({}) })
      .optional(),
  }),
});

/**
 * The mesh: STRICT mutual TLS namespace-wide; each called service with a DestinationRule that ejects
 * outliers and names a stable and a canary subset, and a VirtualService whose primary route splits
 * between them (weights adding to 100); an ALLOW policy per identity under allow-nothing; the data
 * stores outside the mesh (their own TLS-less protocols, guarded by NetworkPolicies).
 */
export function meshProblems(objects: readonly RenderedObject[], policy: CallPolicy): string[] {
  const problems: string[] = [];
  const of = (kind: string) => objects.filter((object) => object.kind === kind);
  const peer = of('PeerAuthentication');
  const strict = peer.some((object) => {
    const spec = z
      .looseObject({
        spec: z.looseObject({
          selector: z.unknown().optional(),
          mtls: z.looseObject({ mode: z.string() }).optional(),
        }),
      })
      .parse(object).spec;
    return spec.selector === undefined && spec.mtls?.mode === 'STRICT';
  });
  if (!strict) problems.push('PeerAuthentication: none sets mtls.mode STRICT for the whole namespace');

  const called = policy.identities.filter((identity) => !policy.public.includes(identity));
  for (const service of called) {
    const rule = of('DestinationRule').find(
      (object) => destinationRuleShape.parse(object).spec.host === service,
    );
    if (!rule) problems.push(`${service}: no DestinationRule for host ${service}`);
    else {
      const { spec } = destinationRuleShape.parse(rule);
      if (!spec.trafficPolicy?.outlierDetection)
        problems.push(`${idOf(rule)}: no spec.trafficPolicy.outlierDetection`);
      for (const subset of ['stable', 'canary'])
        if (!spec.subsets.some((candidate) => candidate.name === subset))
          problems.push(`${idOf(rule)}: no subset ${subset}`);
    }
    const virtual = of('VirtualService').find((object) =>
      virtualServiceShape.parse(object).spec.hosts.includes(service),
    );
    if (!virtual) {
      problems.push(`${service}: no VirtualService for host ${service}`);
      continue;
    }
    const primary = virtualServiceShape.parse(virtual).spec.http.find((route) => route.name === 'primary');
    const subsets = new Set(primary?.route.map((route) => route.destination.subset));
    const total = primary?.route.reduce((sum, route) => sum + (route.weight ?? 0), 0);
    if (!primary || !subsets.has('stable') || !subsets.has('canary') || total !== 100)
      problems.push(
        `${idOf(virtual)}: spec.http primary must split stable and canary by weights adding to 100`,
      );
  }

  const policies = of('AuthorizationPolicy').map((object) => ({
    object,
    spec: authorizationShape.parse(object).spec,
  }));
  if (
    !policies.some(
      ({ spec }) =>
        spec.selector === undefined && spec.action === undefined && Object.keys(spec).length === 0,
    )
  )
    problems.push('AuthorizationPolicy/allow-nothing: missing (every request not allowed must be denied)');
  for (const identity of policy.identities)
    if (
      !policies.some(
        ({ spec }) => spec.selector?.matchLabels[NAME_LABEL] === identity && spec.action === 'ALLOW',
      )
    )
      problems.push(`${identity}: no AuthorizationPolicy selects it`);

  for (const object of objects) {
    const store =
      (object.kind === 'StatefulSet' || object.kind === 'Deployment') &&
      ['bus', 'cache'].includes(object.metadata.labels?.['app.kubernetes.io/component'] ?? '');
    if (!store && object.kind !== 'Cluster') continue;
    const { spec } = podAnnotations.parse(object);
    const annotations =
      object.kind === 'Cluster' ? spec.inheritedMetadata?.annotations : spec.template?.metadata.annotations;
    if (annotations?.['sidecar.istio.io/inject'] !== 'false')
      problems.push(
        `${idOf(object)}: a data store must stay outside the mesh (sidecar.istio.io/inject: "false")`,
      );
  }
  return problems;
}
