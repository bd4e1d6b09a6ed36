import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { customerRoutes } from './customers.routes.ts';
import type { LegacyCustomers } from './legacy-customers.ts';
import type { LegacyOrders } from './legacy-orders.ts';
import type { LegacyProducts } from './legacy-products.ts';
import { orderRoutes } from './orders.routes.ts';
import { productRoutes } from './products.routes.ts';

export interface LegacyShop {
  customers: LegacyCustomers;
  products: LegacyProducts;
  orders: LegacyOrders;
}

/** The monolith's whole API, under `/api`. */
export const legacyRoutes =
  (shop: LegacyShop): FastifyPluginAsyncZod =>
  async (app) => {
    await app.register(customerRoutes(shop.customers, shop.orders), { prefix: '/api' });
    await app.register(productRoutes(shop.products), { prefix: '/api' });
    await app.register(orderRoutes(shop.orders), { prefix: '/api' });
  };
