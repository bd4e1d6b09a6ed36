import type { OutboxEntry } from '@mercato/chassis';
import { inTransaction, type Outbox, type Pool } from '@mercato/chassis';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { ShelfLine } from '../persistence/legacy-stock.ts';
import { legacyStock } from '../persistence/legacy-stock.ts';

const owner = z.enum(['monolith', 'moving', 'services', 'returning']);

/**
 * Operators (and `mercato migrate move orders [--back]`, which waits for it) see whether inventory
 * took the monolith's shelf over — `moving` until every stock change the monolith made before it
 * gave orders up is applied, then `services`; `returning` once given back, until the monolith takes
 * orders again — and give it back (behind the admin guard, like every /admin route).
 */
export const legacyAdminRoutes =
  (db: Pool, outbox: Outbox, shelfReturned: (lines: ShelfLine[]) => OutboxEntry): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/admin/legacy/orders/hand-back',
      {
        schema: {
          tags: ['operations'],
          summary:
            "Give the monolith's shelf back: its stock here stops being reserved and goes to its shelf, then it takes orders",
          response: { 200: z.object({ owner }) },
        },
      },
      async () => ({
        owner: await inTransaction(db, (transaction) =>
          legacyStock.handBack(transaction, shelfReturned, (entries) => outbox.append(transaction, entries)),
        ),
      }),
    );
    app.put(
      '/admin/legacy/retirement',
      {
        schema: {
          tags: ['operations'],
          summary:
            'Mark the monolith retiring (hand-backs refused from then), for good once it retired, or unmark it when it refused to; 409 INVENTORY.ORDERS_NOT_MOVED unless inventory takes its orders, INVENTORY.MONOLITH_RETIRED to unmark it for good',
          body: z
            .object({ retired: z.boolean(), for_good: z.boolean().default(false) })
            .refine((mark) => mark.retired || !mark.for_good, { error: 'for_good needs retired: true' }),
          response: { 200: z.object({ retired_at: z.string().nullable(), for_good: z.boolean() }) },
        },
      },
      async ({ body }) => {
        const marked = await inTransaction(db, (transaction) =>
          legacyStock.markRetired(transaction, body.retired, body.for_good),
        );
        return { retired_at: marked.retiredAt?.toISOString() ?? null, for_good: marked.forGood };
      },
    );
    app.get(
      '/admin/legacy/orders',
      {
        schema: {
          tags: ['operations'],
          summary: "Who takes orders of the monolith's products, as inventory knows it",
          response: {
            200: z.object({
              owner,
              moved_at_lsn: z.string().nullable(),
              retired_at: z.string().nullable(),
            }),
          },
        },
      },
      async () => {
        const { rows } = await db.query<{
          owner: z.output<typeof owner>;
          lsn: string | null;
          retired_at: Date | null;
        }>("SELECT owner, lsn::text AS lsn, retired_at FROM legacy_capabilities WHERE name = 'orders'");
        return {
          owner: rows[0]?.owner ?? 'monolith',
          moved_at_lsn: rows[0]?.lsn ?? null,
          retired_at: rows[0]?.retired_at?.toISOString() ?? null,
        };
      },
    );
  };
