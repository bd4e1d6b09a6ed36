import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { CatalogService } from '../../application/catalog-service.ts';
import {
  categorySchema,
  listProductsQuery,
  newCategoryBody,
  newProductBody,
  productIdParams,
  productPageSchema,
  productSchema,
  toProductJson,
} from './catalog-schemas.ts';

export const catalogRoutes =
  (catalog: CatalogService): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/products',
      { schema: { tags: ['catalog'], querystring: listProductsQuery, response: { 200: productPageSchema } } },
      async ({ query }) => {
        const page = await catalog.listProducts({
          text: query.q,
          categorySlug: query.category,
          page: query.page,
          pageSize: query.page_size,
        });
        return {
          items: page.items.map(toProductJson),
          page: page.page,
          page_size: page.pageSize,
          total: page.total,
        };
      },
    );

    app.get(
      '/products/:id',
      { schema: { tags: ['catalog'], params: productIdParams, response: { 200: productSchema } } },
      async ({ params }) => toProductJson(await catalog.getProduct(params.id)),
    );

    app.post(
      '/products',
      { schema: { tags: ['catalog'], body: newProductBody, response: { 201: productSchema } } },
      async ({ body }, reply) => {
        const product = await catalog.createProduct({ ...body, categorySlug: body.category });
        return reply.status(201).header('location', `/products/${product.id}`).send(toProductJson(product));
      },
    );

    app.get(
      '/categories',
      { schema: { tags: ['catalog'], response: { 200: z.object({ items: z.array(categorySchema) }) } } },
      async () => ({ items: await catalog.listCategories() }),
    );

    app.post(
      '/categories',
      { schema: { tags: ['catalog'], body: newCategoryBody, response: { 201: categorySchema } } },
      async ({ body }, reply) => reply.status(201).send(await catalog.createCategory(body)),
    );
  };
