import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteTableSource } from './route-table-watcher.ts';

/**
 * The routing table in force, as operators and the supervisor read it (behind the admin guard, like
 * every /admin route): its version and the document, variables put in. `mercato migrate retire`
 * asks every gateway whether anything still reaches the monolith.
 */
export const routeTableRoutes =
  (table: RouteTableSource): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/admin/routing-table',
      { schema: { tags: ['operations'], summary: 'The routing table in force: version and document' } },
      async () => {
        const current = table.current();
        return { version: current.version, document: current.document };
      },
    );
  };
