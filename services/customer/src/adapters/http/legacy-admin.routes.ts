import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { CustomerService } from '../../application/customer-service.ts';

const retirementMark = z
  .object({ retired: z.boolean(), for_good: z.boolean().default(false) })
  .refine((mark) => mark.retired || !mark.for_good, { error: 'for_good needs retired: true' });

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
    app.put(
      '/admin/legacy/retirement',
      {
        schema: {
          tags: ['operations'],
          summary:
            'Mark the monolith retiring (hand-backs refused from then), for good once it retired, or unmark it when it refused to; 409 CUSTOMER.NOT_MOVED unless the services write its customers, CUSTOMER.MONOLITH_RETIRED to unmark it for good',
          body: retirementMark,
          response: { 200: z.object({ retired_at: z.string().nullable(), for_good: z.boolean() }) },
        },
      },
      async ({ body }) => {
        const marked = await customers.markLegacyRetired(body.retired, body.for_good);
        return { retired_at: marked.retiredAt?.toISOString() ?? null, for_good: marked.forGood };
      },
    );
  };
