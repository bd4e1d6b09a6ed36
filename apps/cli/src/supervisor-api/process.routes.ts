import { AppError, notFound } from '@mercato/chassis/errors';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { ServiceProcess } from '../supervisor/service-process.ts';

const actions = ['kill', 'stop', 'start', 'restart'] as const;

/**
 * Process state and control: every process with its state, pid, restarts and uptime; kill (as a
 * crash: the supervisor restarts it), stop (kept stopped), start (a stopped one) and restart.
 */
export const processRoutes =
  (processes: () => readonly ServiceProcess[], graceMs: number): FastifyPluginAsyncZod =>
  async (app) => {
    app.get('/admin/processes', async () => ({
      now: Date.now(),
      processes: processes().map((process) => process.info()),
    }));

    app.post(
      '/admin/processes/:name/:action',
      {
        schema: {
          params: z.object({ name: z.string().min(1).max(64), action: z.enum(actions) }),
        },
      },
      async ({ params }, reply) => {
        const target = processes().find((process) => process.name === params.name);
        if (!target) throw notFound('SUPERVISOR.NO_SUCH_PROCESS', `No process named ${params.name}`);
        const { state } = target.info();
        if (params.action === 'start' && state !== 'stopped')
          throw new AppError({
            code: 'SUPERVISOR.NOT_STOPPED',
            kind: 'conflict',
            message: `${params.name} is ${state}; only a stopped process can be started`,
          });
        if (params.action === 'kill' && target.pid === undefined)
          throw new AppError({
            code: 'SUPERVISOR.NOT_RUNNING',
            kind: 'conflict',
            message: `${params.name} has no running process to kill`,
          });
        // Stops, starts and restarts take seconds: answered at once, watched through the state.
        if (params.action === 'kill') target.kill();
        else if (params.action === 'stop') void target.hold(graceMs);
        else if (params.action === 'start') void target.resume().catch(() => undefined);
        else void target.restart(graceMs);
        return reply
          .status(202)
          .send({ name: params.name, action: params.action, state: target.info().state });
      },
    );
  };
