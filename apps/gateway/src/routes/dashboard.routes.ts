import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { Identification } from '../auth/identification.ts';
import { composeParts, NotDeployed } from '../composition/compose-parts.ts';
import { getJson } from '../upstreams/http-backend.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { customer, toCustomerJson } from './customer.routes.ts';
import { degraded, idParam, problems } from './edge-schemas.ts';

/**
 * The customer dashboard, composed at the edge: profile (customer, gRPC), order summaries
 * (order-view) and recommendations (analytics), fetched in parallel, each within
 * `partTimeoutMs`. The read models are reached through the routing table's `order-view` and
 * `analytics` http clusters (`GET /customers/:id/orders/summary`, `GET /customers/:id/recommendations`);
 * until those services are deployed, their parts come back degraded as `not_deployed`.
 */
export const dashboardEdgeRoutes =
  (upstreams: Upstreams, identification: Identification, partTimeoutMs: number): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/customers/:id/dashboard',
      {
        schema: {
          tags: ['customers'],
          summary: 'A customer dashboard (own id only, or admin); failed parts are listed in `degraded`',
          security: [{ bearer: [] }],
          params: idParam,
          response: {
            200: z.object({
              customer_id: z.string(),
              profile: customer.nullable(),
              orders: z.unknown(),
              recommendations: z.unknown(),
              degraded,
            }),
            ...problems,
          },
        },
      },
      async (request) => {
        const { id } = request.params;
        await identification.requireOwner(request, id);
        const route = request.gatewayRoute;
        const readModel = (cluster: string, path: string) => (signal: AbortSignal) => {
          const found = route.clusterFor(cluster);
          if (!found) return Promise.reject(new NotDeployed(`${cluster} is not deployed`));
          return getJson(found, path, signal, upstreams.httpBackends);
        };
        const { values, degraded: failed } = await composeParts(
          {
            profile: async (signal) => {
              const { customer: found } = await upstreams
                .for(request)
                .customer.client.getCustomer({ id }, { signal, timeoutMs: partTimeoutMs });
              return toCustomerJson(found);
            },
            orders: readModel('order-view', `/customers/${encodeURIComponent(id)}/orders/summary`),
            recommendations: readModel('analytics', `/customers/${encodeURIComponent(id)}/recommendations`),
          },
          partTimeoutMs,
        );
        return {
          customer_id: id,
          profile: values.profile,
          orders: values.orders,
          recommendations: values.recommendations,
          degraded: failed,
        };
      },
    );
  };
