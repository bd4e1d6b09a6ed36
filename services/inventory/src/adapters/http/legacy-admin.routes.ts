import type { Pool } from '@mercato/chassis';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

/**
 * Operators (and `mercato migrate move orders`, which waits for it) see whether inventory took the
 * monolith's shelf over: `moving` until every stock change the monolith made before it gave orders
 * up is applied, then `services` (behind the admin guard, like every /admin route).
 */
export const legacyAdminRoutes =
  (db: Pool): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/admin/legacy/orders',
      {
        schema: {
          tags: ['operations'],
          summary: "Who takes orders of the monolith's products, as inventory knows it",
          response: {
            200: z.object({
              owner: z.enum(['monolith', 'moving', 'services']),
              moved_at_lsn: z.string().nullable(),
            }),
          },
        },
      },
      async () => {
        const { rows } = await db.query<{ owner: 'monolith' | 'moving' | 'services'; lsn: string | null }>(
          "SELECT owner, lsn::text AS lsn FROM legacy_capabilities WHERE name = 'orders'",
        );
        return { owner: rows[0]?.owner ?? 'monolith', moved_at_lsn: rows[0]?.lsn ?? null };
      },
    );
  };
