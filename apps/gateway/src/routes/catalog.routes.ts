import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HttpUpstream } from '../upstreams/http-upstream.ts';
import { relay } from './relay.ts';

// The edge contract for catalog reads. The gateway validates before calling upstream so that bad
// input is rejected at the edge with a 400 that names the field.
const product = z.object({
  id: z.string(),
  sku: z.string(),
  name: z.string(),
  description: z.string(),
  category: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});

const problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number(),
  detail: z.string(),
  code: z.string(),
});

const listQuery = z.object({
  q: z.string().max(200).optional().describe('Free text; partial words match'),
  category: z.string().max(64).optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  page_size: z.coerce.number().int().min(1).max(100).default(20),
});

export const catalogEdgeRoutes =
  (catalog: HttpUpstream): FastifyPluginAsyncZod =>
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
            400: problem,
          },
        },
      },
      async (request, reply) =>
        relay(
          reply,
          catalog.name,
          await catalog.forward({ method: 'GET', path: '/products', query: request.query }),
        ),
    );

    app.get(
      '/api/catalog/products/:id',
      {
        schema: {
          tags: ['catalog'],
          summary: 'One product',
          params: z.object({
            id: z
              .string()
              .min(1)
              .max(64)
              .regex(/^[A-Za-z0-9_-]+$/),
          }),
          response: { 200: product, 404: problem },
        },
      },
      async (request, reply) =>
        relay(
          reply,
          catalog.name,
          await catalog.forward({ method: 'GET', path: `/products/${request.params.id}` }),
        ),
    );

    app.get(
      '/api/catalog/categories',
      {
        schema: {
          tags: ['catalog'],
          summary: 'All categories',
          response: { 200: z.object({ items: z.array(z.object({ slug: z.string(), name: z.string() })) }) },
        },
      },
      async (_request, reply) =>
        relay(reply, catalog.name, await catalog.forward({ method: 'GET', path: '/categories' })),
    );
  };
