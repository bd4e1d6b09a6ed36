import type { Pool, ProjectionRunner, SagaRunner } from '@mercato/chassis';
import { notFound } from '@mercato/chassis';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { OrderSagaData } from '../../application/order-sagas.ts';

const tags = ['operations'];

/**
 * Operators' view of the order service (behind the admin guard): sagas as they stand and what
 * happened to them, orders by status from the summaries projection, and rebuilding that projection.
 */
export const orderAdminRoutes =
  (options: {
    pool: Pool;
    sagas: readonly SagaRunner<OrderSagaData>[];
    summaries: ProjectionRunner;
  }): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/admin/sagas',
      {
        schema: {
          tags,
          summary: 'Sagas by status (e.g. failed ones, which need a person)',
          querystring: z.object({
            status: z.enum(['running', 'compensating', 'completed', 'compensated', 'failed']).optional(),
            limit: z.coerce.number().int().min(1).max(1_000).default(100),
          }),
        },
      },
      async ({ query }) => {
        const { rows } = await options.pool.query<{
          saga_id: string;
          saga_type: string;
          status: string;
          reason: string | null;
          updated_at: Date;
        }>(
          `SELECT saga_id, saga_type, status, state->>'reason' AS reason, updated_at FROM saga_instances
            WHERE ($1::text IS NULL OR status = $1) ORDER BY updated_at DESC LIMIT $2`,
          [query.status ?? null, query.limit],
        );
        return { items: rows.map((row) => ({ ...row, updated_at: row.updated_at.toISOString() })) };
      },
    );

    app.get(
      '/admin/sagas/:id',
      {
        schema: {
          tags,
          summary: 'One saga: its state and every input it met',
          params: z.object({ id: z.string().min(1).max(200) }),
        },
      },
      async ({ params }) => {
        for (const runner of options.sagas) {
          const saga = await runner.get(params.id);
          if (saga)
            return {
              type: saga.type,
              waiting_on: saga.waitingOn,
              state: saga.state,
              history: await runner.history(params.id),
            };
        }
        throw notFound('ORDER.SAGA_NOT_FOUND', `No saga ${params.id}`);
      },
    );

    app.get(
      '/admin/orders',
      {
        schema: {
          tags,
          summary: 'Orders by status, from the order-summaries projection',
          querystring: z.object({
            status: z.string().max(20).optional(),
            limit: z.coerce.number().int().min(1).max(100_000).default(100),
          }),
        },
      },
      async ({ query }) => {
        const { rows } = await options.pool.query(
          `SELECT order_id, customer_id, status, total_minor, currency, reason, version FROM order_summaries
            WHERE ($1::text IS NULL OR status = $1) ORDER BY placed_at LIMIT $2`,
          [query.status ?? null, query.limit],
        );
        const { rows: counts } = await options.pool.query<{ status: string; count: number }>(
          'SELECT status, count(*)::int AS count FROM order_summaries GROUP BY status ORDER BY status',
        );
        return { counts: Object.fromEntries(counts.map((row) => [row.status, row.count])), items: rows };
      },
    );

    app.post(
      '/admin/projections/order-summaries/rebuild',
      {
        schema: {
          tags,
          summary: 'Empty the order-summaries projection and rebuild it from position 0 of the log',
        },
      },
      async () => {
        const started = performance.now();
        await options.summaries.reset();
        const applied = await options.summaries.catchUp();
        return { applied, took_ms: Math.round(performance.now() - started) };
      },
    );
  };
