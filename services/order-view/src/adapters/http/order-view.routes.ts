import { type CustomerAccess, notFound, validationFailed } from '@mercato/chassis';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { OrderViewQueries } from '../../application/order-view-queries.ts';
import { decodePageToken } from '../persistence/postgres-order-summaries.ts';
import { summaryJson } from '../summary-json.ts';
import { listConsistentWithOwnOrder } from './own-order-consistency.ts';

/** The header every answer carries: the log position the read model had applied. */
export const POSITION_HEADER = 'mercato-read-position';

const id = z.string().trim().min(1).max(64);
const statuses = z.enum([
  'pending',
  'confirmed',
  'cancel_pending',
  'shipped',
  'delivered',
  'cancelled',
  'failed',
]);
const listQuery = z.object({
  status: statuses.optional(),
  page_size: z.coerce.number().int().min(1).max(100).default(20),
  page_token: z.string().max(200).optional(),
  order_id: id.optional(),
  min_version: z.coerce.number().int().min(0).default(1),
});
const waitMs = 2_500;

/**
 * The read model over HTTP/JSON, as the edge reads it (the dashboard's `orders` part and
 * `GET /api/orders`). `order_id` + `min_version` waits for that order (read-your-writes).
 */
export const orderViewRoutes =
  (queries: OrderViewQueries, access: CustomerAccess): FastifyPluginAsyncZod =>
  async (app) => {
    // Another customer's orders are no customer's at all (under a call policy; `CustomerAccess`).
    const ownCustomer = async (authorization: string | undefined, customerId: string) => {
      if (!(await access(authorization, customerId)))
        throw notFound('ORDER_VIEW.NOT_FOUND', `No customer ${customerId} in order-view`);
    };
    app.get(
      '/customers/:id/orders',
      { schema: { tags: ['order-view'], params: z.object({ id }), querystring: listQuery } },
      async ({ params, query, headers }, reply) => {
        await ownCustomer(headers.authorization, params.id);
        const after = query.page_token ? decodePageToken(query.page_token) : undefined;
        if (query.page_token && !after)
          throw validationFailed([{ field: 'page_token', message: 'not a page token' }]);
        const page = await listConsistentWithOwnOrder(
          queries,
          {
            customerId: params.id,
            status: query.status,
            pageSize: query.page_size,
            after,
            consistentWith: query.order_id
              ? { orderId: query.order_id, minVersion: query.min_version }
              : undefined,
          },
          waitMs,
        );
        reply.header(POSITION_HEADER, page.position ?? '');
        return {
          orders: page.orders.map(summaryJson),
          next_page_token: page.next,
          counts: page.counts,
          position: page.position,
        };
      },
    );

    app.get(
      '/customers/:id/orders/summary',
      { schema: { tags: ['order-view'], params: z.object({ id }) } },
      async ({ params, headers }, reply) => {
        await ownCustomer(headers.authorization, params.id);
        const page = await queries.list({ customerId: params.id, pageSize: 5 }, 0);
        reply.header(POSITION_HEADER, page.position ?? '');
        const total = Object.values(page.counts).reduce((sum, n) => sum + n, 0);
        return { total, counts: page.counts, recent: page.orders.map(summaryJson), position: page.position };
      },
    );

    app.get(
      '/orders/:id/summary',
      {
        schema: {
          tags: ['order-view'],
          params: z.object({ id }),
          querystring: z.object({ min_version: z.coerce.number().int().min(0).default(0) }),
        },
      },
      async ({ params, query, headers }, reply) => {
        const { summary, position } = await queries.summary(params.id, query.min_version, waitMs);
        if (!(await access(headers.authorization, summary.customerId ?? '')))
          throw notFound('ORDER_VIEW.NOT_FOUND', `No order ${params.id} in order-view`);
        reply.header(POSITION_HEADER, position ?? '');
        return { ...summaryJson(summary), position };
      },
    );
  };
