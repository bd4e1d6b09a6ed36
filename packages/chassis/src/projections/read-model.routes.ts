import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Generation } from './read-model-generations.ts';
import type { ReadModelRunner } from './read-model-runner.ts';

const generationJson = async (runner: ReadModelRunner, generation: Generation) => ({
  generation: generation.generation,
  schema: generation.schema,
  status: generation.status,
  position: generation.checkpoint,
  events_applied: generation.eventsApplied,
  rejected: generation.rejected,
  started_at: generation.startedAt.toISOString(),
  applied_at: generation.appliedAt?.toISOString() ?? null,
  switched_at: generation.switchedAt?.toISOString() ?? null,
  compared_rows: generation.comparedRows,
  differences: generation.differences,
  lag: generation.status === 'live' || generation.status === 'building' ? await runner.lag(generation) : null,
});

/**
 * Operator endpoints of a read model (admin only, on the service's own port): its generations with
 * their lag, and a blue-green rebuild from the start of the log (`mercato projections rebuild`).
 */
export const readModelRoutes =
  (runner: ReadModelRunner): FastifyPluginAsyncZod =>
  async (app) => {
    const status = async () => ({
      read_model: runner.model.name,
      log: runner.log.name,
      generations: await Promise.all((await runner.generations()).map((g) => generationJson(runner, g))),
    });
    app.get('/admin/read-model', { schema: { tags: ['operations'] } }, status);
    app.post('/admin/read-model/rebuild', { schema: { tags: ['operations'] } }, async (_request, reply) => {
      await runner.rebuild();
      return reply.status(202).send(await status());
    });
  };
