import type { Product } from '@mercato/contracts/grpc/catalog';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { idParam, problems } from './edge-schemas.ts';

export const product = z.object({
  id: z.string(),
  sku: z.string(),
  name: z.string(),
  description: z.string(),
  category: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  /** The name as a URL path segment; absent while a catalog older than the field answers. */
  slug: z.string().optional(),
});

export const listQuery = z.object({
  q: z.string().trim().max(200).optional().describe('Free text; partial words match'),
  category: z.string().max(64).optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  page_size: z.coerce.number().int().min(1).max(100).default(20),
});

export const toProductJson = (p: Product) => ({
  id: p.id,
  sku: p.sku,
  name: p.name,
  description: p.description,
  category: p.categorySlug,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
  // Empty from a catalog that predates the field (proto3's default): not known, so not said.
  ...(p.slug ? { slug: p.slug } : {}),
});

/** Catalog reads: REST/JSON at the edge, gRPC to catalog. */
export const catalogEdgeRoutes =
  (upstreams: Upstreams): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/catalog/products',
      {
        schema: {
          tags: ['catalog'],
          summary: 'List or search products',
          querystring: listQuery,
          response: {
            200: z.object({
              items: z.array(product),
              page: z.number(),
              page_size: z.number(),
              total: z.number(),
            }),
            ...problems,
          },
        },
      },
      async (request) => {
        const { query } = request;
        const { catalog } = upstreams.for(request);
        const page = { page: query.page, pageSize: query.page_size };
        const result = query.q
          ? await catalog.client.searchProducts({ query: query.q, ...page })
          : await catalog.client.listProducts({ categorySlug: query.category ?? '', ...page });
        return {
          items: result.products.map(toProductJson),
          page: result.page,
          page_size: result.pageSize,
          total: result.total,
        };
      },
    );

    app.get(
      '/api/catalog/products/:id',
      {
        schema: {
          tags: ['catalog'],
          summary: 'One product',
          params: idParam,
          response: { 200: product, ...problems },
        },
      },
      async (request) => {
        const { catalog } = upstreams.for(request);
        const { product: found } = await catalog.client.getProduct({ id: request.params.id });
        if (!found) throw new Error('catalog answered GetProduct without a product');
        return toProductJson(found);
      },
    );

    app.get(
      '/api/catalog/categories',
      {
        schema: {
          tags: ['catalog'],
          summary: 'All categories',
          response: {
            200: z.object({ items: z.array(z.object({ slug: z.string(), name: z.string() })) }),
            ...problems,
          },
        },
      },
      async (request) => ({
        items: (await upstreams.for(request).catalog.client.listCategories({})).categories.map(
          ({ slug, name }) => ({ slug, name }),
        ),
      }),
    );
  };
