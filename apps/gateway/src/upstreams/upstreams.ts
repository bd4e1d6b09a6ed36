import type { ServiceContext } from '@mercato/chassis';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { CustomerService } from '@mercato/contracts/grpc/customer';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import { InventoryService } from '@mercato/contracts/grpc/inventory';
import { PricingService } from '@mercato/contracts/grpc/pricing';
import type { GatewayConfig } from '../config.ts';

/** One client per service behind the edge, each with its own breaker and bulkhead. */
export function createUpstreams({
  config,
  grpcClient,
}: Pick<ServiceContext<GatewayConfig>, 'config' | 'grpcClient'>) {
  return {
    catalog: grpcClient(CatalogService, { dependency: 'catalog', url: config.CATALOG_GRPC_URL }),
    identity: grpcClient(IdentityService, { dependency: 'identity', url: config.IDENTITY_GRPC_URL }),
    customer: grpcClient(CustomerService, { dependency: 'customer', url: config.CUSTOMER_GRPC_URL }),
    pricing: grpcClient(PricingService, { dependency: 'pricing', url: config.PRICING_GRPC_URL }),
    inventory: grpcClient(InventoryService, { dependency: 'inventory', url: config.INVENTORY_GRPC_URL }),
  };
}

export type Upstreams = ReturnType<typeof createUpstreams>;
