import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { LegacyProducts } from './legacy-products.ts';
import { idParams, productSchema } from './legacy-schemas.ts';

const tags = ['products'];

/** The catalogue with stock, read only (the monolith's products were edited in its back office). */
export const productRoutes =
  (products: LegacyProducts): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/products',
      {
        schema: {
          tags,
          summary: 'Every product with its stock',
          response: { 200: z.object({ items: z.array(productSchema) }) },
        },
      },
      async () => ({ items: await products.list() }),
    );

    app.get(
      '/products/:id',
      { schema: { tags, summary: 'A product', params: idParams, response: { 200: productSchema } } },
      async ({ params }) => products.find(params.id),
    );
  };
