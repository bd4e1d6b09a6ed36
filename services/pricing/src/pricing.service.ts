import { fileURLToPath } from 'node:url';
import { experimentRoutes, LookupCache, type ServiceDefinition } from '@mercato/chassis';
import { catalogEvents, customerEvents, legacyProductChanged } from '@mercato/contracts';
import { CustomerService } from '@mercato/contracts/grpc/customer';
import { pricingGrpc } from './adapters/grpc/pricing.grpc.ts';
import { customerUpdatedConsumer } from './adapters/messaging/customer-updated.consumer.ts';
import { legacyProductChangedConsumer } from './adapters/messaging/legacy-product-changed.consumer.ts';
import { productCreatedConsumer } from './adapters/messaging/product-created.consumer.ts';
import { PostgresPriceBook } from './adapters/persistence/postgres-price-book.ts';
import { seedDemoPrices } from './application/demo-prices.ts';
import { discountEngine } from './application/discount-engine.ts';
import { pricingService } from './application/pricing-service.ts';
import { type PricingConfig, pricingConfig } from './config.ts';

/** The pricing service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const pricingDefinition: ServiceDefinition<PricingConfig, { database: true; messaging: true }> = {
  name: 'pricing',
  config: pricingConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'Mercato pricing', description: 'gRPC: mercato.pricing.v1.PricingService' },
  messaging: { contracts: [...catalogEvents, ...customerEvents, legacyProductChanged] },
  async setup({ config, db, logger, grpcClient, metrics }) {
    const book = new PostgresPriceBook(db);
    if (config.PRICING_SEED_DEMO) {
      const seeded = await seedDemoPrices(book);
      if (seeded > 0) logger.info({ prices: seeded }, 'seeded the demo price list');
    }
    const customers = grpcClient(CustomerService, { dependency: 'customer' });
    // Customers' segments, so a quote does not ask the customer service each time; customer.updated forgets one.
    const segments = new LookupCache<string>(
      async (customerId: string) =>
        (await customers.client.getCustomer({ id: customerId })).customer?.segment ?? 'standard',
      { ttlMs: config.PRICING_SEGMENT_CACHE_MS },
    );
    const engine = discountEngine({
      choice: config.PRICING_DISCOUNT_ENGINE,
      v2Percent: config.PRICING_DISCOUNT_ENGINE_V2_PERCENT,
      registry: metrics.registry,
      logger,
    });
    return {
      grpc: pricingGrpc(pricingService(book, segments.get, logger, engine.quote)),
      routes: experimentRoutes([engine.experiment]),
      consumers: [
        productCreatedConsumer(book),
        customerUpdatedConsumer(segments),
        legacyProductChangedConsumer(config.PRICING_LEGACY_CURRENCY, logger),
      ],
    };
  },
};
