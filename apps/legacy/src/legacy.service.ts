import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@mercato/chassis';
import { type LegacyConfig, legacyConfig } from './config.ts';
import { legacyRoutes } from './legacy.routes.ts';
import { LegacyCapabilities } from './legacy-capabilities.ts';
import { LegacyCustomers } from './legacy-customers.ts';
import { LegacyOrders } from './legacy-orders.ts';
import { LegacyProducts } from './legacy-products.ts';
import { LegacyRetirement } from './legacy-retirement.ts';

/**
 * The pre-microservices shop: one process, one database, a synchronous JSON API and one transaction
 * per request. The services replace it piece by piece (strangler fig); its tables are the source
 * that change-data-capture reads, so their shape stays as it is.
 */
export const legacyDefinition: ServiceDefinition<LegacyConfig, { database: true }> = {
  name: 'legacy',
  config: legacyConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'Legacy shop (monolith)', description: 'The shop before the services, to migrate from' },
  setup({ db }) {
    return {
      routes: legacyRoutes({
        customers: new LegacyCustomers(db),
        products: new LegacyProducts(db),
        orders: new LegacyOrders(db),
        capabilities: new LegacyCapabilities(db),
        retirement: new LegacyRetirement(db),
      }),
    };
  },
};
