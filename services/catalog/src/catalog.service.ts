import { fileURLToPath } from 'node:url';
import { currentRequestContext, newId, type ServiceDefinition } from '@mercato/chassis';
import { catalogEvents, legacyProductChanged } from '@mercato/contracts';
import { catalogGrpc } from './adapters/grpc/catalog.grpc.ts';
import { catalogRoutes } from './adapters/http/catalog.routes.ts';
import { legacyProductChangedConsumer } from './adapters/messaging/legacy-product-changed.consumer.ts';
import { LegacyProductTakeover } from './adapters/persistence/legacy-product-takeover.ts';
import { PostgresCatalogStore } from './adapters/persistence/postgres-catalog-store.ts';
import { catalogService } from './application/catalog-service.ts';
import { seedDemoCatalog } from './application/demo-catalog.ts';
import { type CatalogConfig, catalogConfig } from './config.ts';

/** The catalog service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const catalogDefinition: ServiceDefinition<CatalogConfig, { database: true; messaging: true }> = {
  name: 'catalog',
  config: catalogConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: {
    title: 'Mercato catalog',
    description: 'Products and categories (gRPC: mercato.catalog.v1.CatalogService)',
  },
  messaging: { contracts: [...catalogEvents, legacyProductChanged] },
  async setup({ config, db, logger, outbox }) {
    const store = new PostgresCatalogStore(db, outbox);
    const correlationId = () => currentRequestContext()?.correlationId ?? newId('corr');
    const catalog = catalogService({ store, newId, now: () => new Date(), correlationId });
    if (config.CATALOG_SEED_DEMO) {
      const seeded = await seedDemoCatalog(catalog, store);
      if (seeded > 0) logger.info({ products: seeded }, 'seeded the demo catalog');
    }
    return {
      routes: catalogRoutes(catalog),
      grpc: catalogGrpc(catalog),
      consumers: [legacyProductChangedConsumer(new LegacyProductTakeover(outbox), logger)],
    };
  },
};
