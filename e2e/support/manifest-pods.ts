import path from 'node:path';
import * as z from 'zod';
import { kustomize } from '../../deploy/k8s/validation/kubectl.ts';
import { parseRendered, type RenderedObject } from '../../deploy/k8s/validation/rendered-object.ts';
import { resolveEnvironment } from '../../deploy/k8s/validation/service-environments.ts';
import { type Container, workloadOf } from '../../deploy/k8s/validation/workload-shapes.ts';
import { repositoryRoot } from './platform-process.ts';

/** What a probe says beyond its path and port (Kubernetes' defaults when absent). */
const probeTiming = z.looseObject({
  periodSeconds: z.number().default(10),
  failureThreshold: z.number().default(3),
});

export interface ProbeSpec {
  path: string;
  port: number;
  /** How long the kubelet gives it: periodSeconds × failureThreshold. */
  withinMs: number;
}

/** One Deployment of a rendered overlay, as a pod of it would run. */
export interface ManifestPod {
  name: string;
  /** The container's environment as the kubelet assembles it (secrets and the pod name stood in). */
  environment: Record<string, string>;
  ports: Record<string, number>;
  startup: ProbeSpec | undefined;
  readiness: ProbeSpec | undefined;
  liveness: ProbeSpec | undefined;
  /** Seconds the preStop hook sleeps before SIGTERM (0 when none). */
  preStopSeconds: number;
  terminationGracePeriodSeconds: number;
}

function probeOf(container: Container, kind: 'startupProbe' | 'readinessProbe' | 'livenessProbe') {
  const probe = container[kind];
  const get = probe?.httpGet;
  if (!probe || !get) return undefined;
  const port =
    typeof get.port === 'number'
      ? get.port
      : container.ports.find((candidate) => candidate.name === get.port)?.containerPort;
  if (port === undefined)
    throw new Error(`${container.name}: ${kind} names port ${get.port}, which it lacks`);
  const timing = probeTiming.parse(probe);
  return { path: get.path ?? '/', port, withinMs: timing.periodSeconds * timing.failureThreshold * 1000 };
}

/** The overlay `deploy/k8s/overlays/<overlay>` rendered by kubectl kustomize. */
export async function renderOverlay(kubectl: string, overlay: string): Promise<RenderedObject[]> {
  const directory = path.join(repositoryRoot, 'deploy', 'k8s', 'overlays', overlay);
  return parseRendered(await kustomize(kubectl, directory), `overlays/${overlay}`);
}

/** Every Deployment of the shop's own (services and gateway) in the rendered objects, one pod each. */
export function manifestPods(objects: readonly RenderedObject[]): ManifestPod[] {
  const pods: ManifestPod[] = [];
  for (const object of objects) {
    if (object.kind !== 'Deployment') continue;
    const component = object.metadata.labels?.['app.kubernetes.io/component'];
    if (component !== 'service' && component !== 'gateway') continue;
    const { template } = workloadOf(object);
    const container = template?.spec.containers[0];
    if (!template || !container) throw new Error(`Deployment/${object.metadata.name} has no container`);
    const resolved = resolveEnvironment(
      `Deployment/${object.metadata.name}`,
      object.metadata.name,
      container,
      objects,
    );
    if (resolved.problems.length > 0) throw new Error(resolved.problems.join('\n'));
    const [command, seconds] = container.lifecycle?.preStop?.exec?.command ?? [];
    pods.push({
      name: object.metadata.name,
      environment: resolved.variables,
      ports: Object.fromEntries(
        container.ports.map((port) => [port.name ?? String(port.containerPort), port.containerPort]),
      ),
      startup: probeOf(container, 'startupProbe'),
      readiness: probeOf(container, 'readinessProbe'),
      liveness: probeOf(container, 'livenessProbe'),
      preStopSeconds: command === 'sleep' ? Number(seconds) : 0,
      terminationGracePeriodSeconds: template.spec.terminationGracePeriodSeconds ?? 30,
    });
  }
  return pods;
}
