import path from 'node:path';
import { instanceNames } from './replicas.ts';

/** How the supervisor starts one service. Order in `serviceCatalog` is start order. */
export interface ServiceSpec {
  name: string;
  /** Folder of the service's package, relative to the repository root. */
  directory: string;
  /** Its own database and login role are provisioned when true. */
  database: boolean;
  /** It publishes or consumes messages: it is given the bus (the message store, or NATS). */
  messaging: boolean;
  /** It serves gRPC on a port of its own (GRPC_PORT). */
  grpc: boolean;
  /** It serves SMTP on a port of its own (SMTP_PORT, from the same range as gRPC ports). */
  smtp?: boolean;
  /** Services that must be ready before this one starts. */
  dependsOn: string[];
  /**
   * Reads this service's database by logical replication (change data capture): it is given that
   * database's URL as LEGACY_DATABASE_URL, and that database's login may replicate.
   */
  captures?: string;
  /**
   * Extra environment, given the addresses of the outside world it talks to (the simulators, the
   * SMTP server) and of the supervisor. Never a Mercato service's address: those are found by name.
   */
  env?: (addresses: ServiceAddresses) => Record<string, string>;
}

export interface ServiceAddresses {
  /** The simulators' HTTP addresses (payment-provider, carrier). */
  http: Record<string, string>;
  /** Where mail goes: SMTP_URL when set, else the SMTP sink. */
  smtp: string;
  /** The supervisor's API (the console's process control, traces and logs), when it runs one. */
  supervisor: string;
}

const core = (name: string, dependsOn: string[] = [], env?: ServiceSpec['env']): ServiceSpec => ({
  name,
  directory: `services/${name}`,
  database: true,
  messaging: true,
  grpc: true,
  dependsOn,
  ...(env ? { env } : {}),
});

/** A read model: its own database, the bus (to read its log), gRPC; it publishes nothing. */
const readModel = (name: string): ServiceSpec => ({
  name,
  directory: `services/${name}`,
  database: true,
  messaging: true,
  grpc: true,
  dependsOn: [],
});

/**
 * Whether a service's HTTP port is inside the mesh (under `--mtls`, HTTPS with client certificates
 * only): the Mercato services behind the gateway, every one of which serves gRPC. Not the gateway's
 * (the public edge), nor the simulators' and the legacy shop's (the outside world, reached as it is).
 */
export const httpInsideMesh = (spec: ServiceSpec): boolean => spec.grpc;

/** Start order; ports are handed out in this order too (`placeServices`). */
export const serviceCatalog: readonly ServiceSpec[] = [
  core('catalog'),
  core('identity'),
  core('customer'),
  // pricing calls customer, found by name when it first does, so it need not wait for it.
  core('pricing'),
  core('inventory'),
  {
    // The outside world payment talks to: a simulator of a payment provider (not a Mercato service).
    name: 'payment-provider',
    directory: 'apps/payment-provider',
    database: true,
    messaging: false,
    grpc: false,
    dependsOn: [],
  },
  core('payment', [], ({ http }) => ({ PAYMENT_PROVIDER_URL: http['payment-provider'] ?? '' })),
  core('order'),
  {
    // The outside world fulfillment hands parcels to: a carrier simulator (not a Mercato service).
    name: 'carrier',
    directory: 'apps/carrier',
    database: true,
    messaging: false,
    grpc: false,
    dependsOn: [],
  },
  core('fulfillment', [], ({ http }) => ({ CARRIER_URL: http.carrier ?? '' })),
  {
    // The outside world notification mails: a local SMTP server that keeps what it receives.
    name: 'smtp-sink',
    directory: 'apps/smtp-sink',
    database: true,
    messaging: false,
    grpc: false,
    smtp: true,
    dependsOn: [],
  },
  core('notification', [], ({ smtp }) => ({ SMTP_URL: smtp })),
  // The read models: fed by the bus's event log only, rebuildable from its start.
  readModel('order-view'),
  readModel('analytics'),
  {
    name: 'gateway',
    directory: 'apps/gateway',
    database: false,
    messaging: false,
    grpc: false,
    // Starts alongside the others: its readiness covers catalog and identity, and the
    // supervisor waits for that, so it needs no head start from them.
    dependsOn: [],
    // Every service it calls is found by name (its routing table's clusters name them).
    env: ({ supervisor }) => ({ SUPERVISOR_URL: supervisor }),
  },
];

/**
 * The legacy monolith and the change data capture that feeds its changes to the services (the
 * strangler fig, docs/strangler-fig.md). Started only when asked (`MERCATO_LEGACY=1` or
 * `--legacy`): their first start seeds and snapshots a history of 65,000 rows, which a shop that
 * migrates nothing should not pay for.
 */
export const legacyServices: readonly ServiceSpec[] = [
  { name: 'legacy', directory: 'apps/legacy', database: true, messaging: false, grpc: false, dependsOn: [] },
  {
    name: 'legacy-cdc',
    directory: 'apps/legacy-cdc',
    database: true,
    messaging: true,
    grpc: false,
    dependsOn: ['legacy'],
    captures: 'legacy',
  },
];

/** Every process the supervisor can start or build. */
export const everyService: readonly ServiceSpec[] = [...serviceCatalog, ...legacyServices];

export const repositoryRoot = path.resolve(import.meta.dirname, '../../..');

export interface Placement {
  /** Keyed by process name: a service's first instance has the service's name, others `<service>-<n>`. */
  ports: Record<string, number>;
  grpcPorts: Record<string, number>;
  smtpPorts: Record<string, number>;
  urls: Record<string, string>;
  grpcUrls: Record<string, string>;
  /** Every process to start, in start order, with the service it is an instance of. */
  instances: Array<{ name: string; service: string; spec: ServiceSpec }>;
}

/**
 * The one place ports are assigned: the gateway on its own port, every other service on the next
 * port from the base in catalog order, and gRPC likewise. A service's further instances
 * (`replicas`) get ports after all of those, so the first instances' ports do not depend on how many
 * others run. Services find each other by name through the registry, which lists these. With
 * `MERCATO_PORTS=dynamic` every port is 0 (the system picks; each process reports where it listens).
 */
export function placeServices(
  specs: readonly ServiceSpec[],
  bases: {
    MERCATO_GATEWAY_PORT: number;
    MERCATO_PORT_BASE: number;
    MERCATO_GRPC_PORT_BASE: number;
    MERCATO_PORTS?: 'fixed' | 'dynamic';
  },
  replicas: ReadonlyMap<string, number> = new Map(),
): Placement {
  if (bases.MERCATO_PORTS === 'dynamic') return dynamicPlacement(specs, replicas);
  const ports: Record<string, number> = {};
  const grpcPorts: Record<string, number> = {};
  const smtpPorts: Record<string, number> = {};
  let next = bases.MERCATO_PORT_BASE;
  let nextGrpc = bases.MERCATO_GRPC_PORT_BASE;
  for (const spec of specs) {
    ports[spec.name] = spec.name === 'gateway' ? bases.MERCATO_GATEWAY_PORT : next++;
    if (spec.grpc) grpcPorts[spec.name] = nextGrpc++;
    if (spec.smtp) smtpPorts[spec.name] = nextGrpc++;
  }
  const instances: Placement['instances'] = [];
  for (const spec of specs)
    for (const name of instanceNames(spec.name, replicas.get(spec.name) ?? 1)) {
      instances.push({ name, service: spec.name, spec });
      if (name === spec.name) continue;
      ports[name] = next++;
      if (spec.grpc) grpcPorts[name] = nextGrpc++;
    }
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const urls = Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, url(port)]));
  const grpcUrls = Object.fromEntries(Object.entries(grpcPorts).map(([name, port]) => [name, url(port)]));
  return { ports, grpcPorts, smtpPorts, urls, grpcUrls, instances };
}

/** The processes whose HTTP address a service is handed (the simulators it talks to). */
export function addressesUsed(spec: ServiceSpec): string[] {
  const names: string[] = [];
  const recorder = new Proxy<Record<string, string>>(
    {},
    {
      get: (_target, name) => {
        if (typeof name === 'string') names.push(name);
        return 'http://127.0.0.1:1';
      },
    },
  );
  spec.env?.({ http: recorder, smtp: 'smtp://127.0.0.1:1', supervisor: 'http://127.0.0.1:1' });
  return names;
}

/** Every port left to the system: the processes report theirs (`ServiceProcess.learnsAddresses`). */
function dynamicPlacement(specs: readonly ServiceSpec[], replicas: ReadonlyMap<string, number>): Placement {
  const placement: Placement = {
    ports: {},
    grpcPorts: {},
    smtpPorts: {},
    urls: {},
    grpcUrls: {},
    instances: [],
  };
  for (const spec of specs)
    for (const name of instanceNames(spec.name, replicas.get(spec.name) ?? 1)) {
      placement.instances.push({ name, service: spec.name, spec });
      placement.ports[name] = 0;
      if (spec.grpc) placement.grpcPorts[name] = 0;
      if (spec.smtp) placement.smtpPorts[name] = 0;
    }
  return placement;
}
