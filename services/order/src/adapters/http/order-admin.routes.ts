import type { Pool, ProjectionRunner, SagaRunner } from '@mercato/chassis';
import { conflict, listSagas, notFound } from '@mercato/chassis';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { OrderSagaData } from '../../application/order-sagas.ts';

const tags = ['operations'];

const sagaStatuses = ['running', 'stuck', 'compensating', 'completed', 'compensated', 'failed'] as const;

/**
 * Operators' view of the order service (behind the admin guard): sagas as they stand and what
 * happened to them (stuck ones with why, and a retry now), orders by status from the summaries
 * projection, and rebuilding that projection.
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
          summary:
            'Sagas by status: `stuck` ones retry a step past their pivot (why says which and why), `failed` ones need a person',
          querystring: z.object({
            status: z.enum(sagaStatuses).optional(),
            /** Only sagas whose timer keeps failing (their transition throws). */
            timer_failing: z.enum(['true', 'false']).optional(),
            limit: z.coerce.number().int().min(1).max(1_000).default(100),
          }),
        },
      },
      async ({ query }) => {
        const sagas = await listSagas(options.pool, {
          ...(query.status ? { status: query.status } : {}),
          timerFailing: query.timer_failing === 'true',
          limit: query.limit,
        });
        return {
          items: sagas.map((saga) => ({
            saga_id: saga.sagaId,
            saga_type: saga.type,
            status: saga.status,
            why: saga.why,
            // Kept for the clients that read it before `why` was added.
            reason: saga.why,
            stuck: saga.stuck && {
              step: saga.stuck.step,
              since: saga.stuck.since.toISOString(),
              attempts: saga.stuck.attempts,
            },
            timer_failures: saga.timerFailures,
            timer_error: saga.timerError,
            updated_at: saga.updatedAt.toISOString(),
          })),
        };
      },
    );

    app.post(
      '/admin/sagas/:id/retry',
      {
        schema: {
          tags,
          summary:
            'A stuck saga sends its step again now, instead of after its backoff (once the cause is fixed)',
          params: z.object({ id: z.string().min(1).max(200) }),
        },
      },
      async ({ params }) => {
        for (const runner of options.sagas)
          if (await runner.retryNow(params.id)) return { saga_id: params.id, retrying: true };
        const exists = await Promise.all(options.sagas.map((runner) => runner.get(params.id)));
        if (!exists.some(Boolean)) throw notFound('ORDER.SAGA_NOT_FOUND', `No saga ${params.id}`);
        throw conflict('ORDER.SAGA_NOT_STUCK', `Saga ${params.id} is not stuck: it has nothing to retry`);
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
              timer_failures: saga.timerFailures,
              timer_error: saga.timerError,
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
        const applied = await options.summaries.rebuild();
        return { applied, took_ms: Math.round(performance.now() - started) };
      },
    );
  };
