import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { LegacyRetirement } from './legacy-retirement.ts';

/** The monolith's retirement (phase N): `mercato migrate retire` asks for it, after the services. */
export const retirementRoutes =
  (retirement: LegacyRetirement): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/retirement',
      {
        schema: {
          tags: ['capabilities'],
          summary:
            'Retire the monolith once the services write every capability and its orders finished (409 LEGACY.STILL_WRITES, LEGACY.ORDERS_UNFINISHED)',
          response: { 200: z.object({ retiredAt: z.string(), lsn: z.string() }) },
        },
      },
      async () => retirement.retire(),
    );
  };
