import { notFound } from '@mercato/chassis/errors';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkDrift, type MigrationDatabases } from '../migration/drift-checker.ts';

const query = z.object({
  /** A row the monolith changed this recently is on its way and left out of the comparison. */
  settle_ms: z.coerce.number().int().min(0).max(600_000).default(5_000),
  rechecks: z.coerce.number().int().min(0).max(30).default(3),
});

/**
 * `GET /admin/migration/drift`: the monolith's customers and orders compared row by row with the
 * services' copies (docs/strangler-fig.md). 404 when the platform runs without the monolith.
 */
export const migrationRoutes =
  (databases: () => MigrationDatabases | undefined): FastifyPluginAsyncZod =>
  async (app) => {
    app.get('/admin/migration/drift', { schema: { querystring: query } }, async (request) => {
      const where = databases();
      if (!where)
        throw notFound(
          'MIGRATION.NO_MONOLITH',
          'The platform runs without the monolith: start it with --legacy (MERCATO_LEGACY=1)',
        );
      return checkDrift(where, { settleMs: request.query.settle_ms, rechecks: request.query.rechecks });
    });
  };
