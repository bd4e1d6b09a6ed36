import { notFound } from '@mercato/chassis/errors';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import { checkDrift } from '../migration/drift-checker.ts';
import type { MigrationControl } from '../migration/migration-control.ts';

const query = z.object({
  /** A row the monolith changed this recently is on its way and left out of the comparison. */
  settle_ms: z.coerce.number().int().min(0).max(600_000).default(5_000),
  rechecks: z.coerce.number().int().min(0).max(30).default(3),
});

const noMonolith = () =>
  notFound(
    'MIGRATION.NO_MONOLITH',
    'The platform runs without the monolith: start it with --legacy (MERCATO_LEGACY=1)',
  );

/**
 * `GET /admin/migration/drift`: the monolith's customers and orders compared row by row with the
 * services' copies (docs/strangler-fig.md); once it retired, the comparison made then. `POST
 * /admin/migration/retire`: the strangler's last phase. 404 when the platform runs without the
 * monolith and never retired it.
 */
export const migrationRoutes =
  (control: MigrationControl | undefined): FastifyPluginAsyncZod =>
  async (app) => {
    app.get('/admin/migration/drift', { schema: { querystring: query } }, async (request) => {
      const retired = await control?.retired();
      if (retired) return { ...retired.report, retired: { at: retired.retiredAt, lsn: retired.lsn } };
      const where = control?.databases();
      if (!where) throw noMonolith();
      return checkDrift(where, { settleMs: request.query.settle_ms, rechecks: request.query.rechecks });
    });

    app.post('/admin/migration/retire', async () => {
      if (!control || (!control.databases() && !(await control.retired()))) throw noMonolith();
      return control.retire();
    });
  };
