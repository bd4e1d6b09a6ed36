import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import { capabilityNames, type LegacyCapabilities } from './legacy-capabilities.ts';

const tags = ['capabilities'];
const capabilitySchema = z.object({
  name: z.enum(capabilityNames),
  owner: z.enum(['monolith', 'services']),
  changedAt: z.string(),
});

/**
 * Who writes what (the strangler's phase 3): the operator moves a capability here, or back. The
 * move commits once the writes in flight have; the monolith refuses the capability's writes after.
 */
export const capabilityRoutes =
  (capabilities: LegacyCapabilities): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/capabilities',
      {
        schema: {
          tags,
          summary: 'Who writes each capability',
          response: { 200: z.object({ items: z.array(capabilitySchema) }) },
        },
      },
      async () => ({ items: await capabilities.list() }),
    );

    app.put(
      '/capabilities/:name',
      {
        schema: {
          tags,
          summary: 'Give a capability to the monolith or the services (waits for its writes in flight)',
          params: z.object({ name: z.enum(capabilityNames) }),
          body: z.object({ owner: z.enum(['monolith', 'services']) }),
          response: { 200: capabilitySchema },
        },
      },
      async ({ params, body }) => capabilities.move(params.name, body.owner),
    );
  };
