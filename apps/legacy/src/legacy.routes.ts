import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { capabilityRoutes } from './capabilities.routes.ts';
import { customerRoutes } from './customers.routes.ts';
import type { LegacyCapabilities } from './legacy-capabilities.ts';
import type { LegacyCustomers } from './legacy-customers.ts';
import type { LegacyOrders } from './legacy-orders.ts';
import type { LegacyProducts } from './legacy-products.ts';
import type { LegacyRetirement } from './legacy-retirement.ts';
import { orderRoutes } from './orders.routes.ts';
import { productRoutes } from './products.routes.ts';
import { retirementRoutes } from './retirement.routes.ts';

export interface LegacyShop {
  customers: LegacyCustomers;
  products: LegacyProducts;
  orders: LegacyOrders;
  capabilities: LegacyCapabilities;
  retirement: LegacyRetirement;
}

/** The monolith's whole API, under `/api`. */
export const legacyRoutes =
  (shop: LegacyShop): FastifyPluginAsyncZod =>
  async (app) => {
    await app.register(customerRoutes(shop.customers, shop.orders), { prefix: '/api' });
    await app.register(productRoutes(shop.products), { prefix: '/api' });
    await app.register(orderRoutes(shop.orders), { prefix: '/api' });
    await app.register(capabilityRoutes(shop.capabilities), { prefix: '/api' });
    await app.register(retirementRoutes(shop.retirement), { prefix: '/api' });
  };
