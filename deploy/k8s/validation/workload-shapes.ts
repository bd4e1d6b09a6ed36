import * as z from 'zod';
import type { RenderedObject } from './rendered-object.ts';

/** The parts of pod templates, Services and friends the invariants read (the schemas checked the rest). */
const envVar = z.looseObject({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .looseObject({
      secretKeyRef: z
        .looseObject({ name: z.string(), key: z.string(), optional: z.boolean().optional() })
        .optional(),
      configMapKeyRef: z
        .looseObject({ name: z.string(), key: z.string(), optional: z.boolean().optional() })
        .optional(),
      fieldRef: z.looseObject({ fieldPath: z.string() }).optional(),
    })
    .optional(),
});

const httpProbe = z.looseObject({
  httpGet: z.looseObject({ path: z.string().optional(), port: z.union([z.string(), z.number()]) }).optional(),
  tcpSocket: z.looseObject({}).optional(),
  exec: z.looseObject({}).optional(),
});

const quantities = z.record(z.string(), z.union([z.string(), z.number()]));

export const containerShape = z.looseObject({
  name: z.string(),
  image: z.string().optional(),
  ports: z.array(z.looseObject({ name: z.string().optional(), containerPort: z.number() })).default([]),
  env: z.array(envVar).default([]),
  envFrom: z
    .array(
      z.looseObject({
        configMapRef: z.looseObject({ name: z.string(), optional: z.boolean().optional() }).optional(),
        secretRef: z.looseObject({ name: z.string(), optional: z.boolean().optional() }).optional(),
      }),
    )
    .default([]),
  livenessProbe: httpProbe.optional(),
  readinessProbe: httpProbe.optional(),
  startupProbe: httpProbe.optional(),
  lifecycle: z
    .looseObject({
      preStop: z.looseObject({ exec: z.looseObject({ command: z.array(z.string()) }).optional() }).optional(),
    })
    .optional(),
  resources: z.looseObject({ requests: quantities.optional(), limits: quantities.optional() }).optional(),
});
export type Container = z.output<typeof containerShape>;
export type EnvVar = z.output<typeof envVar>;

const podTemplateShape = z.looseObject({
  metadata: z.looseObject({ labels: z.record(z.string(), z.string()).default({}) }).default({ labels: {} }),
  spec: z.looseObject({
    serviceAccountName: z.string().optional(),
    terminationGracePeriodSeconds: z.number().optional(),
    containers: z.array(containerShape),
  }),
});
export type PodTemplate = z.output<typeof podTemplateShape>;

const workloadShape = z.looseObject({
  spec: z.looseObject({
    replicas: z.number().optional().catch(undefined),
    selector: z.looseObject({ matchLabels: z.record(z.string(), z.string()).default({}) }).optional(),
    template: podTemplateShape.optional(),
    workloadRef: z.looseObject({ kind: z.string(), name: z.string() }).optional(),
  }),
});

/** A Deployment, StatefulSet or Rollout with the pod template it runs (a Rollout's may be its workloadRef's). */
export interface Workload {
  object: RenderedObject;
  replicas: number | undefined;
  selector: Record<string, string>;
  template: PodTemplate | undefined;
  workloadRef: { kind: string; name: string } | undefined;
}

export const workloadKinds = new Set(['Deployment', 'StatefulSet', 'Rollout']);

export function workloadOf(object: RenderedObject): Workload {
  const { spec } = workloadShape.parse(object);
  return {
    object,
    replicas: spec.replicas,
    selector: spec.selector?.matchLabels ?? {},
    template: spec.template,
    workloadRef: spec.workloadRef,
  };
}

export const servicePortsShape = z.looseObject({
  spec: z.looseObject({
    selector: z.record(z.string(), z.string()).default({}),
    ports: z
      .array(
        z.looseObject({
          name: z.string().optional(),
          port: z.number(),
          targetPort: z.union([z.string(), z.number()]).optional(),
        }),
      )
      .default([]),
  }),
});

export const selectorShape = z.looseObject({
  spec: z.looseObject({
    selector: z.looseObject({ matchLabels: z.record(z.string(), z.string()).default({}) }).optional(),
    minAvailable: z.union([z.number(), z.string()]).optional(),
    maxUnavailable: z.union([z.number(), z.string()]).optional(),
  }),
});

export const configMapShape = z.looseObject({ data: z.record(z.string(), z.string()).default({}) });

/** Whether every label a selector asks for is on the pod. */
export const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
