import { type CustomerAccess, notFound, validationFailed } from '@mercato/chassis';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { AnalyticsQueries } from '../../application/analytics-queries.ts';
import { recommendationJson, sagaOutcomesJson, salesJson } from '../report-json.ts';

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected YYYY-MM-DD' })
  .refine((value) => !Number.isNaN(Date.parse(value)), {
    error: 'not a calendar day',
  });
const MAX_SPAN_DAYS = 366;

/** Analytics over HTTP/JSON, as the edge reads it (dashboard, recommendations, admin reports). */
export const analyticsRoutes =
  (queries: AnalyticsQueries, access: CustomerAccess): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/customers/:id/recommendations',
      {
        schema: {
          tags: ['analytics'],
          params: z.object({ id: z.string().trim().min(1).max(64) }),
          querystring: z.object({ limit: z.coerce.number().int().min(1).max(50).default(5) }),
        },
      },
      async ({ params, query, headers }) => {
        // Another customer's recommendations are no customer's (under a call policy).
        if (!(await access(headers.authorization, params.id)))
          throw notFound('ANALYTICS.NOT_FOUND', `No customer ${params.id} in analytics`);
        const { items, position } = await queries.recommendations(params.id, query.limit);
        return { customer_id: params.id, items: items.map(recommendationJson), position };
      },
    );

    app.get(
      '/reports/sales',
      {
        schema: { tags: ['analytics'], querystring: z.object({ from: day.optional(), to: day.optional() }) },
      },
      async ({ query }) => {
        if (query.from && query.to) {
          const span = (Date.parse(query.to) - Date.parse(query.from)) / 86_400_000;
          if (span < 0) throw validationFailed([{ field: 'from', message: 'must not be after to' }]);
          if (span > MAX_SPAN_DAYS)
            throw validationFailed([{ field: 'to', message: `at most ${MAX_SPAN_DAYS} days after from` }]);
        }
        return salesJson(await queries.sales(query.from, query.to));
      },
    );

    app.get('/reports/saga-outcomes', { schema: { tags: ['analytics'] } }, async () =>
      sagaOutcomesJson(await queries.sagaOutcomes()),
    );
  };
