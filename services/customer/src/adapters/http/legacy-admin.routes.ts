import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CustomerService } from '../../application/customer-service.ts';

/**
 * Operators give the monolith's customers back (the strangler's phase 3 undone; behind the admin
 * guard, like every /admin route). Answered once profile writes stopped; the monolith takes the
 * customers back when the services' last changes are written into it.
 */
export const legacyAdminRoutes =
  (customers: CustomerService): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/admin/legacy/customers/hand-back',
      {
        schema: {
          tags: ['operations'],
          summary: "Give the monolith's customers back: profile writes stop here, the monolith takes them",
          response: {
            200: z.object({
              owner: z.enum(['monolith', 'moving', 'services', 'returning']),
            }),
          },
        },
      },
      async () => ({ owner: await customers.handBackLegacyCustomers() }),
    );
  };
