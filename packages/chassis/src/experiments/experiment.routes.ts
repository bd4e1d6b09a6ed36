import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { ReportingExperiment } from './experiment.ts';

/**
 * Operator endpoint of a service's branch-by-abstraction experiments (admin only, on the service's
 * own port; `mercato experiments <service>`): each one's mode, its counts and its latest differences.
 */
export const experimentRoutes =
  (experiments: readonly ReportingExperiment[]): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/admin/experiments',
      {
        schema: {
          tags: ['operations'],
          summary:
            "This service's branch-by-abstraction experiments: mode, counts, latest differences (admins)",
          querystring: z.object({ limit: z.coerce.number().int().min(0).max(100).default(20) }),
        },
      },
      async (request) => ({
        experiments: experiments.map((experiment) => {
          const report = experiment.report();
          return { ...report, recent: report.recent.slice(0, request.query.limit) };
        }),
      }),
    );
  };
