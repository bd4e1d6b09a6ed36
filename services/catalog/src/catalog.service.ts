import { fileURLToPath } from 'node:url';
import { newId, type ServiceDefinition } from '@mercato/chassis';
import { catalogRoutes } from './adapters/http/catalog.routes.ts';
import { PostgresCatalogStore } from './adapters/persistence/postgres-catalog-store.ts';
import { catalogService } from './application/catalog-service.ts';
import { seedDemoCatalog } from './application/demo-catalog.ts';
import { type CatalogConfig, catalogConfig } from './config.ts';

/** The catalog service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const catalogDefinition: ServiceDefinition<CatalogConfig> = {
  name: 'catalog',
  config: catalogConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'Mercato catalog', description: 'Products and categories' },
  async setup({ config, db, logger }) {
    if (!db) throw new Error('catalog needs its database');
    const store = new PostgresCatalogStore(db);
    const catalog = catalogService({ store, newId, now: () => new Date() });
    if (config.CATALOG_SEED_DEMO) {
      const seeded = await seedDemoCatalog(catalog, store);
      if (seeded > 0) logger.info({ products: seeded }, 'seeded the demo catalog');
    }
    return { routes: catalogRoutes(catalog) };
  },
};
