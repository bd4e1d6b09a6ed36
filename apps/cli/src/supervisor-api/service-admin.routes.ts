import { AppError, notFound } from '@mercato/chassis/errors';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { ServiceProcess } from '../supervisor/service-process.ts';

/**
 * Each service's own admin endpoints (dead letters, sagas, orders, knobs, read models) through the
 * supervisor, which holds the run's admin token: the console needs one origin and one credential.
 * Only `/admin/*` of a process the supervisor runs can be reached this way.
 */
export const serviceAdminRoutes =
  (processes: () => readonly ServiceProcess[], adminToken: string): FastifyPluginAsyncZod =>
  async (app) => {
    // The path under the service's /admin/: plain segments only, so it cannot lead anywhere else.
    const adminPath = z
      .string()
      .max(500)
      .regex(/^[A-Za-z0-9_.~-]+(\/[A-Za-z0-9_.~-]+)*\/?$/, { error: 'expected a path of plain segments' })
      .refine((path) => !path.split('/').some((segment) => segment === '.' || segment === '..'), {
        error: 'dot segments are not allowed',
      });
    const params = z.object({ name: z.string().min(1).max(64), '*': adminPath });
    const forward = async (request: {
      method: string;
      url: string;
      params: z.infer<typeof params>;
      body: unknown;
    }) => {
      // A process by its name, or a service by its name (after a release its instances are named
      // for their version): the first of its instances not being retired.
      const target =
        processes().find((process) => process.name === request.params.name) ??
        processes().find((process) => process.service === request.params.name && !process.draining);
      if (!target) throw notFound('SUPERVISOR.NO_SUCH_PROCESS', `No process named ${request.params.name}`);
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      let response: Response;
      try {
        response = await fetch(`${target.url}/admin/${request.params['*']}${query}`, {
          method: request.method,
          headers: {
            authorization: `Bearer ${adminToken}`,
            ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (error) {
        throw new AppError({
          code: 'SUPERVISOR.SERVICE_UNREACHABLE',
          kind: 'unavailable',
          message: `${request.params.name} did not answer: ${(error as Error).message}`,
          cause: error,
        });
      }
      return response;
    };
    for (const method of ['GET', 'POST', 'PUT'] as const)
      app.route({
        method,
        url: '/admin/services/:name/admin/*',
        schema: { params },
        handler: async (request, reply) => {
          const response = await forward(request);
          return reply
            .status(response.status)
            .type(response.headers.get('content-type') ?? 'application/json')
            .send(Buffer.from(await response.arrayBuffer()));
        },
      });
  };
