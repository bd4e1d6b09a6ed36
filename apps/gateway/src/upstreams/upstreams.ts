import type { GrpcClient, ServiceContext } from '@mercato/chassis';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { CustomerService } from '@mercato/contracts/grpc/customer';
import { FulfillmentService } from '@mercato/contracts/grpc/fulfillment';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import { InventoryService } from '@mercato/contracts/grpc/inventory';
import { NotificationService } from '@mercato/contracts/grpc/notification';
import { OrderService } from '@mercato/contracts/grpc/order';
import { PricingService } from '@mercato/contracts/grpc/pricing';
import type { FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config.ts';
import { type Backend, pickBackend, type Route } from '../routing/route-table.ts';
import { backendAddresses } from './backend-address.ts';
import { PlacementAdmission } from './placement-admission.ts';

const services = {
  catalog: CatalogService,
  identity: IdentityService,
  customer: CustomerService,
  pricing: PricingService,
  inventory: InventoryService,
  order: OrderService,
  fulfillment: FulfillmentService,
  notification: NotificationService,
};
type Services = typeof services;
export type ServiceName = keyof Services;

/** A typed client per service, each bound to the backend the route's cluster picked. */
export type UpstreamClients = { readonly [K in ServiceName]: GrpcClient<Services[K]> };

/**
 * gRPC clients for the services behind the edge. One client (with its own breaker and bulkhead)
 * per backend, kept across routing-table reloads so a reload does not reset breakers. A request
 * picks one backend per service by the weights of its route's cluster, once.
 */
export function createUpstreams({
  grpcClient,
  config,
  metrics,
  discovery,
  logger,
}: Pick<ServiceContext<GatewayConfig>, 'grpcClient' | 'config' | 'metrics' | 'discovery' | 'logger'>) {
  const placement = new PlacementAdmission(
    config.GATEWAY_PLACEMENT_LIMIT === 'adaptive'
      ? { min: config.GATEWAY_PLACEMENT_LIMIT_MIN, max: config.GATEWAY_PLACEMENT_LIMIT_MAX }
      : undefined,
    metrics.rpc.limiter,
  );
  const clients = new Map<string, unknown>();
  const clientFor = <K extends ServiceName>(service: K, backend: Backend): GrpcClient<Services[K]> => {
    const key = `${service}|${backend.name}|${backend.service ?? ''}|${backend.url ?? ''}`;
    let client = clients.get(key) as GrpcClient<Services[K]> | undefined;
    if (!client) {
      client = grpcClient(services[service], {
        dependency: backend.name,
        ...(backend.url !== undefined ? { url: backend.url } : { find: backend.service ?? backend.name }),
      });
      clients.set(key, client);
    }
    return client;
  };

  const forRoute = (route: Route): UpstreamClients => {
    const picked = new Map<ServiceName, unknown>();
    const resolve = <K extends ServiceName>(service: K): GrpcClient<Services[K]> => {
      let client = picked.get(service) as GrpcClient<Services[K]> | undefined;
      if (!client) {
        const cluster = route.clusterFor(service);
        // The table's schema requires these clusters, so a miss is a bug, not a bad request.
        if (!cluster) throw new Error(`routing table has no cluster for ${service}`);
        client = clientFor(service, pickBackend(cluster));
        picked.set(service, client);
      }
      return client;
    };
    return {
      get catalog() {
        return resolve('catalog');
      },
      get identity() {
        return resolve('identity');
      },
      get customer() {
        return resolve('customer');
      },
      get pricing() {
        return resolve('pricing');
      },
      get inventory() {
        return resolve('inventory');
      },
      get order() {
        return resolve('order');
      },
      get fulfillment() {
        return resolve('fulfillment');
      },
      get notification() {
        return resolve('notification');
      },
    };
  };

  return {
    forRoute,
    /** Order placement's own admission at the edge (see placement-admission.ts). */
    placement,
    /** Where an http cluster's backend is now (a read model's instance, or a fixed address). */
    httpBackends: backendAddresses(discovery, logger, metrics.rpc.ejections),
    /** The clients for the route that matched this request (set by the routing hook). */
    for: (request: FastifyRequest): UpstreamClients => forRoute(request.gatewayRoute),
  };
}

export type Upstreams = ReturnType<typeof createUpstreams>;
