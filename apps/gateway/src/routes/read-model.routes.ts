import { AppError } from '@mercato/chassis';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { Identification } from '../auth/identification.ts';
import { getJson, withinDeadline } from '../upstreams/http-backend.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { problems } from './edge-schemas.ts';
import { requireOwnOrder } from './own-order.ts';

const security = [{ bearer: [] }];
/** As the read model answered: its rows and the log `position` they reflect. */
const readModelAnswer = z.looseObject({ position: z.string().nullable() });
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected YYYY-MM-DD' });

/** A query string of the defined values. */
const queryOf = (values: Record<string, string | number | undefined>) => {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value !== undefined) query.set(name, String(value));
  const text = query.toString();
  return text ? `?${text}` : '';
};

/**
 * The read models at the edge, over the routing table's `order-view` and `analytics` http clusters
 * (as the dashboard reads them): the caller's orders, recommendations, and admin reports.
 */
export const readModelEdgeRoutes =
  (identification: Identification, upstreams: Upstreams): FastifyPluginAsyncZod =>
  async (app) => {
    const fetchFrom = (request: FastifyRequest, cluster: string, path: string) => {
      const found = request.gatewayRoute.clusterFor(cluster);
      if (!found)
        throw new AppError({
          code: 'GATEWAY.NOT_DEPLOYED',
          kind: 'unavailable',
          message: `${cluster} is not deployed`,
        });
      // The read model's own answer, passed on as it is.
      return getJson(found, path, withinDeadline(), upstreams.httpBackends) as Promise<
        z.output<typeof readModelAnswer>
      >;
    };
    const requireAdmin = async (request: FastifyRequest) => {
      const principal = await identification.requirePrincipal(request);
      if (!principal.roles.includes('admin'))
        throw new AppError({ code: 'AUTH.FORBIDDEN', kind: 'forbidden', message: 'Reports are for admins' });
    };

    app.get(
      '/api/orders',
      {
        schema: {
          tags: ['orders'],
          operationId: 'listMyOrders',
          summary:
            'My orders, newest first, from the order-view read model. With `order_id` (and `min_version`, from the order you just placed or cancelled), waits until the read model has caught up with it',
          security,
          querystring: z.object({
            status: z
              .enum(['pending', 'confirmed', 'cancel_pending', 'shipped', 'delivered', 'cancelled', 'failed'])
              .optional(),
            page_size: z.coerce.number().int().min(1).max(100).optional(),
            page_token: z.string().max(200).optional(),
            order_id: z
              .string()
              .regex(/^[A-Za-z0-9_-]{1,64}$/)
              .optional(),
            min_version: z.coerce.number().int().min(0).optional(),
          }),
          response: { 200: readModelAnswer, ...problems },
        },
      },
      async (request) => {
        const { userId } = await identification.requirePrincipal(request);
        // Read-your-writes is for one's own orders: another's is a 404 like a made-up id, at once,
        // without a wait for the read model whose length or message could tell them apart.
        if (request.query.order_id)
          await requireOwnOrder(upstreams, identification, request, request.query.order_id);
        return fetchFrom(
          request,
          'order-view',
          `/customers/${encodeURIComponent(userId)}/orders${queryOf(request.query)}`,
        );
      },
    );

    app.get(
      '/api/recommendations',
      {
        schema: {
          tags: ['customers'],
          operationId: 'myRecommendations',
          summary: 'Products for me: bought together with what I bought, else popular in its category',
          security,
          querystring: z.object({ limit: z.coerce.number().int().min(1).max(50).optional() }),
          response: { 200: readModelAnswer, ...problems },
        },
      },
      async (request) => {
        const { userId } = await identification.requirePrincipal(request);
        return fetchFrom(
          request,
          'analytics',
          `/customers/${encodeURIComponent(userId)}/recommendations${queryOf(request.query)}`,
        );
      },
    );

    app.get(
      '/api/admin/reports/sales',
      {
        schema: {
          tags: ['reports'],
          operationId: 'salesReport',
          summary: 'Sales per day and per category (admin)',
          security,
          querystring: z.object({ from: day.optional(), to: day.optional() }),
          response: { 200: readModelAnswer, ...problems },
        },
      },
      async (request) => {
        await requireAdmin(request);
        return fetchFrom(request, 'analytics', `/reports/sales${queryOf(request.query)}`);
      },
    );

    app.get(
      '/api/admin/reports/saga-outcomes',
      {
        schema: {
          tags: ['reports'],
          operationId: 'sagaOutcomes',
          summary:
            'PlaceOrder outcomes: confirmed, cancelled by reason, failed, compensations, time to confirm (admin)',
          security,
          response: { 200: readModelAnswer, ...problems },
        },
      },
      async (request) => {
        await requireAdmin(request);
        return fetchFrom(request, 'analytics', '/reports/saga-outcomes');
      },
    );
  };
