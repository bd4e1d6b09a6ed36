import type { RenderedObject } from './rendered-object.ts';

/** A deliberate mistake in a rendered overlay, and the words the checks must answer it with. */
export interface Breakage {
  what: string;
  overlay: string;
  apply: (objects: RenderedObject[]) => void;
  /** A part of the problem reported: the object, and the field or variable. */
  expected: string;
}

type Json = Record<string, unknown>;

const isJson = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The object at a path of keys and array indexes; throws if the rendered manifests lack it. */
function at(root: unknown, ...path: (string | number)[]): Json {
  let node: unknown = root;
  for (const key of path)
    node = Array.isArray(node) ? node[Number(key)] : isJson(node) ? node[key] : undefined;
  if (!isJson(node)) throw new Error(`no object at ${path.join('.')}`);
  return node;
}

function find(objects: readonly RenderedObject[], kind: string, name: string): RenderedObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} is not rendered`);
  return found;
}

const container = (objects: readonly RenderedObject[], name: string) =>
  at(find(objects, 'Deployment', name), 'spec', 'template', 'spec', 'containers', 0);

function renameKey(object: Json, from: string, to: string): void {
  object[to] = object[from];
  delete object[from];
}

export const breakages: readonly Breakage[] = [
  {
    what: 'a misspelt variable in a ConfigMap the services read',
    overlay: 'prod',
    apply: (objects) =>
      renameKey(at(find(objects, 'ConfigMap', 'mercato-platform'), 'data'), 'JWT_AUDIENCE', 'JWT_AUDIANCE'),
    expected: 'Deployment/order container order: JWT_AUDIANCE is not a variable order reads',
  },
  {
    what: 'a value the service would refuse at start',
    overlay: 'dev',
    apply: (objects) => {
      at(find(objects, 'ConfigMap', 'mercato-platform'), 'data').MERCATO_DNS_GRPC_PORT = 'fifty';
    },
    expected: 'Deployment/catalog container catalog: MERCATO_DNS_GRPC_PORT: expected an integer',
  },
  {
    what: 'streams held once by a three-server NATS',
    overlay: 'prod',
    apply: (objects) => {
      at(find(objects, 'ConfigMap', 'mercato-messaging'), 'data').NATS_STREAM_REPLICAS = '1';
    },
    expected:
      'Deployment/order container order: NATS_STREAM_REPLICAS 1 must be 3, the servers of StatefulSet/nats (each stream on every one)',
  },
  {
    what: 'a misspelt field of a container',
    overlay: 'prod',
    apply: (objects) => renameKey(container(objects, 'payment'), 'livenessProbe', 'livenesProbe'),
    expected:
      'Deployment/payment: /spec/template/spec/containers/0/livenesProbe is not a field of apps/v1/Deployment',
  },
  {
    what: 'a field of the wrong type',
    overlay: 'dev',
    apply: (objects) => {
      at(find(objects, 'Deployment', 'inventory'), 'spec').replicas = 'two';
    },
    expected: 'Deployment/inventory: /spec/replicas must be integer',
  },
  {
    what: 'a misspelt field of a custom resource (CloudNativePG)',
    overlay: 'prod',
    apply: (objects) => renameKey(at(find(objects, 'Cluster', 'order-db'), 'spec'), 'instances', 'instanses'),
    expected: 'Cluster/order-db: ',
  },
  {
    what: 'a misspelt field of an Istio policy',
    overlay: 'istio',
    apply: (objects) =>
      renameKey(at(find(objects, 'AuthorizationPolicy', 'payment'), 'spec'), 'action', 'actoin'),
    expected: 'AuthorizationPolicy/payment: /spec/actoin is not a field',
  },
  {
    what: 'a container without a memory limit',
    overlay: 'prod',
    apply: (objects) => {
      delete at(container(objects, 'order'), 'resources', 'limits').memory;
    },
    expected: 'Deployment/order container order: no resources.limits.memory',
  },
  {
    what: 'a workload no disruption budget selects',
    overlay: 'prod',
    apply: (objects) => {
      objects.splice(objects.indexOf(find(objects, 'PodDisruptionBudget', 'pricing')), 1);
    },
    expected: 'Deployment/pricing: no PodDisruptionBudget selects its pods',
  },
  {
    what: 'a service running under another identity',
    overlay: 'istio',
    apply: (objects) => {
      at(find(objects, 'Deployment', 'notification'), 'spec', 'template', 'spec').serviceAccountName =
        'order';
    },
    expected: 'Deployment/notification: serviceAccountName order must be notification',
  },
  {
    what: 'a Secret written out in the manifests',
    overlay: 'dev',
    apply: (objects) => {
      objects.push({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'smtp-credentials', namespace: 'mercato' },
        stringData: { password: 'hunter2' },
      });
    },
    expected: 'Secret/smtp-credentials: a Secret with literal data',
  },
  {
    what: "another service's address in a service's environment",
    overlay: 'prod',
    apply: (objects) => {
      at(find(objects, 'ConfigMap', 'payment-config'), 'data').PAYMENT_PROVIDER_URL = 'http://order:8080';
    },
    expected: 'Deployment/payment container payment: PAYMENT_PROVIDER_URL holds the address of order',
  },
  {
    what: 'a drain longer than the pod is given to stop',
    overlay: 'prod',
    apply: (objects) => {
      at(find(objects, 'ConfigMap', 'mercato-platform'), 'data').SHUTDOWN_TIMEOUT_MS = '60000';
    },
    expected: 'Deployment/gateway: terminationGracePeriodSeconds 30 s must exceed',
  },
  {
    what: 'a single replica in prod',
    overlay: 'prod',
    apply: (objects) => {
      at(find(objects, 'HorizontalPodAutoscaler', 'fulfillment'), 'spec').minReplicas = 1;
    },
    expected: 'HorizontalPodAutoscaler/fulfillment: spec.minReplicas 1, at least 2 in prod',
  },
  {
    what: "another service let into a service's database",
    overlay: 'prod',
    apply: (objects) => {
      at(
        find(objects, 'NetworkPolicy', 'payment-db'),
        'spec',
        'ingress',
        0,
        'from',
        0,
        'podSelector',
        'matchLabels',
      )['app.kubernetes.io/name'] = 'gateway';
    },
    expected: 'NetworkPolicy/payment-db: lets gateway reach payment-db',
  },
  {
    what: 'a canary analysis looser than the embedded one',
    overlay: 'argo-rollouts',
    apply: (objects) => {
      at(find(objects, 'AnalysisTemplate', 'mercato-canary'), 'spec', 'metrics', 3).successCondition =
        'isNaN(result[0]) || result[0] <= 0.9';
    },
    expected: 'AnalysisTemplate/mercato-canary: metric canary-p99 must succeed when result[0] <= 0.5',
  },
  {
    what: 'a canary analysis querying a metric no service exposes',
    overlay: 'argo-rollouts',
    apply: (objects) => {
      const prometheus = at(
        find(objects, 'AnalysisTemplate', 'mercato-canary'),
        'spec',
        'metrics',
        0,
        'provider',
        'prometheus',
      );
      prometheus.query = String(prometheus.query).replaceAll(
        'rpc_server_duration_seconds',
        'grpc_server_handled',
      );
    },
    expected: 'queries grpc_server_handled_count, which no service exposes',
  },
  {
    what: 'a Rollout whose steps differ from the embedded canary',
    overlay: 'argo-rollouts',
    apply: (objects) => {
      at(find(objects, 'Rollout', 'order'), 'spec', 'strategy', 'canary', 'steps', 0).setWeight = 10;
    },
    expected: "Rollout/order: setWeight steps 10, 25, 50 differ from the supervisor's 5, 25, 50",
  },
];
