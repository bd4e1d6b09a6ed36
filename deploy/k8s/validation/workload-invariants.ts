import { GRPC_PORT, HTTP_PORT, NAME_LABEL } from '../platform-ports.ts';
import type { CallPolicy } from '../policy/policy-schema.ts';
import { deployedServices } from './platform-catalog.ts';
import { idOf, type RenderedObject } from './rendered-object.ts';
import { environmentProblems } from './service-environments.ts';
import {
  type Container,
  type PodTemplate,
  selectorShape,
  selects,
  servicePortsShape,
  type Workload,
  workloadKinds,
  workloadOf,
} from './workload-shapes.ts';

const isMercato = (template: PodTemplate | undefined) =>
  ['service', 'gateway'].includes(template?.metadata.labels['app.kubernetes.io/component'] ?? '');

/** A Rollout with a workloadRef runs its Deployment's template. */
function templateOf(workload: Workload, workloads: readonly Workload[]): PodTemplate | undefined {
  if (workload.template || !workload.workloadRef) return workload.template;
  const { kind, name } = workload.workloadRef;
  return workloads.find((other) => other.object.kind === kind && other.object.metadata.name === name)
    ?.template;
}

function containerProblems(owner: string, container: Container): string[] {
  const where = `${owner} container ${container.name}`;
  const problems: string[] = [];
  if (!container.livenessProbe) problems.push(`${where}: no livenessProbe`);
  if (!container.readinessProbe) problems.push(`${where}: no readinessProbe`);
  for (const side of ['requests', 'limits'] as const)
    for (const resource of ['cpu', 'memory'])
      if (container.resources?.[side]?.[resource] === undefined)
        problems.push(`${where}: no resources.${side}.${resource}`);
  return problems;
}

const preStopSeconds = (container: Container): number => {
  const [command, seconds] = container.lifecycle?.preStop?.exec?.command ?? [];
  return command === 'sleep' ? Number(seconds ?? 0) : 0;
};

/** What the chassis serves (packages/chassis/src/http/health-routes.ts): liveness, readiness, HTTP port. */
function mercatoContainerProblems(owner: string, template: PodTemplate, container: Container, grpc: boolean) {
  const where = `${owner} container ${container.name}`;
  const problems: string[] = [];
  const port = (name: string) => container.ports.find((candidate) => candidate.name === name)?.containerPort;
  if (port('http') !== HTTP_PORT) problems.push(`${where}: ports: http must be ${HTTP_PORT}`);
  if (grpc && port('grpc') !== GRPC_PORT) problems.push(`${where}: ports: grpc must be ${GRPC_PORT}`);
  if (!grpc && port('grpc') !== undefined) problems.push(`${where}: ports: grpc, but it serves no gRPC`);
  for (const [probe, path] of [
    ['livenessProbe', '/healthz'],
    ['readinessProbe', '/readyz'],
  ] as const) {
    const get = container[probe]?.httpGet;
    if (get && (get.path !== path || (get.port !== 'http' && get.port !== HTTP_PORT)))
      problems.push(`${where}: ${probe} must GET ${path} on the http port (got ${get.path} on ${get.port})`);
  }
  if (template.spec.serviceAccountName === undefined) problems.push(`${owner}: no serviceAccountName`);
  return problems;
}

/**
 * The invariants of every workload (probes, limits, a disruption budget) and of every Mercato service
 * (its identity, ports, Service, database, bus and drain time), across the rendered objects.
 */
export function workloadProblems(objects: readonly RenderedObject[], policy: CallPolicy): string[] {
  const problems: string[] = [];
  const workloads = objects.filter((object) => workloadKinds.has(object.kind)).map(workloadOf);
  const budgets = objects.filter((object) => object.kind === 'PodDisruptionBudget');
  const accounts = new Set(objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name));
  const services = objects.filter((object) => object.kind === 'Service');
  const clusters = new Set(objects.filter((o) => o.kind === 'Cluster').map((o) => o.metadata.name));
  const names = deployedServices.map((spec) => spec.name);
  const deployedBy = new Map<string, string>();
  const natsServers = workloads.find(
    (workload) => workload.object.kind === 'StatefulSet' && workload.object.metadata.name === 'nats',
  )?.replicas;

  for (const workload of workloads) {
    const owner = idOf(workload.object);
    const template = templateOf(workload, workloads);
    if (!template) {
      problems.push(`${owner}: no pod template (nor a workloadRef to one)`);
      continue;
    }
    for (const container of template.spec.containers) problems.push(...containerProblems(owner, container));
    const labels = template.metadata.labels;
    if (
      !budgets.some((budget) => selects(selectorShape.parse(budget).spec.selector?.matchLabels ?? {}, labels))
    )
      problems.push(`${owner}: no PodDisruptionBudget selects its pods`);
    // A Rollout runs the Deployment's template: the service's checks are the Deployment's.
    if (!isMercato(template) || workload.workloadRef) continue;

    const service = labels[NAME_LABEL] ?? '';
    const spec = deployedServices.find((candidate) => candidate.name === service);
    if (!spec) {
      problems.push(`${owner}: ${NAME_LABEL}=${service} is not a Mercato service`);
      continue;
    }
    deployedBy.set(service, owner);
    const account = template.spec.serviceAccountName;
    if (account !== service)
      problems.push(`${owner}: serviceAccountName ${account} must be ${service} (its SPIFFE identity)`);
    if (account && !accounts.has(account))
      problems.push(`${owner}: ServiceAccount/${account} is not rendered`);
    if (!policy.identities.includes(service))
      problems.push(`${owner}: ${service} is not an identity of deploy/policy.yaml`);
    for (const container of template.spec.containers) {
      problems.push(...mercatoContainerProblems(owner, template, container, spec.grpc));
      const database = container.env.find((variable) => variable.name === 'DATABASE_URL')?.valueFrom
        ?.secretKeyRef;
      if (spec.database) {
        if (database?.name !== `${service}-db-app` || database.key !== 'uri' || database.optional)
          problems.push(
            `${owner} container ${container.name}: DATABASE_URL must come from Secret/${service}-db-app key uri`,
          );
        if (!clusters.has(`${service}-db`)) problems.push(`${owner}: no CloudNativePG Cluster/${service}-db`);
      }
    }

    const { problems: environment, configs } = environmentProblems({ ...workload, template }, objects, names);
    problems.push(...environment);
    for (const [containerName, config] of configs) {
      const where = `${owner} container ${containerName}`;
      if (config.MERCATO_DISCOVERY !== 'dns') problems.push(`${where}: MERCATO_DISCOVERY must be dns`);
      if (spec.messaging && config.MERCATO_BUS !== 'nats')
        problems.push(`${where}: MERCATO_BUS must be nats`);
      if (spec.messaging && natsServers !== undefined && Number(config.NATS_STREAM_REPLICAS) !== natsServers)
        problems.push(
          `${where}: NATS_STREAM_REPLICAS ${config.NATS_STREAM_REPLICAS} must be ${natsServers}, the servers of StatefulSet/nats (each stream on every one)`,
        );
      if (spec.messaging && labels['mercato.dev/bus'] !== 'true')
        problems.push(`${owner}: on the bus but without the label mercato.dev/bus=true (NetworkPolicy/nats)`);
      const container = template.spec.containers.find((candidate) => candidate.name === containerName);
      const drainMs = Number(config.SHUTDOWN_TIMEOUT_MS);
      // preStop, then the drain, then the 2 s run-service.ts allows before it exits anyway.
      const neededMs = (container ? preStopSeconds(container) * 1000 : 0) + drainMs + 2_000;
      const graceMs = (template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
      if (graceMs <= neededMs)
        problems.push(
          `${owner}: terminationGracePeriodSeconds ${graceMs / 1000} s must exceed preStop + SHUTDOWN_TIMEOUT_MS + 2 s = ${neededMs / 1000} s`,
        );
    }

    const exposed = services.find((object) => selects(servicePortsShape.parse(object).spec.selector, labels));
    if (!exposed) problems.push(`${owner}: no Service selects its pods`);
    else {
      const ports = servicePortsShape.parse(exposed).spec.ports;
      const has = (name: string, port: number) =>
        ports.some(
          (candidate) => candidate.name === name && candidate.port === port && candidate.targetPort === name,
        );
      if (exposed.metadata.name !== service)
        problems.push(`${idOf(exposed)}: must be named ${service} (found by name)`);
      if (!has('http', HTTP_PORT)) problems.push(`${idOf(exposed)}: needs port http ${HTTP_PORT} → http`);
      if (spec.grpc && !has('grpc', GRPC_PORT))
        problems.push(`${idOf(exposed)}: needs port grpc ${GRPC_PORT} → grpc`);
    }
  }

  for (const spec of deployedServices)
    if (!deployedBy.has(spec.name)) problems.push(`${spec.name}: no Deployment runs it`);
  for (const identity of policy.identities)
    if (!accounts.has(identity))
      problems.push(`deploy/policy.yaml identity ${identity}: no ServiceAccount/${identity}`);
  return problems;
}
