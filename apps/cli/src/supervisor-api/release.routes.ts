import { PassThrough } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import { type ReleaseController, strategies } from '../supervisor/releases/release-controller.ts';
import type { ReleaseEvent } from '../supervisor/releases/release-steps.ts';

const body = z.object({
  service: z.string().min(1).max(64),
  strategy: z.enum(strategies).default('rolling'),
  to: z.string().min(1).max(32).default('current'),
  /** A canary's analysis window. */
  interval_ms: z.number().int().min(1_000).max(600_000).default(30_000),
  /** The fewest canary calls a window is judged on. */
  min_sample: z.number().int().min(1).max(1_000_000).default(200),
  /** How much slower than the stable version's the canary's p99 may be (ms). */
  p99_margin_ms: z.number().int().min(0).max(60_000).default(100),
  /** A blue-green release's smoke check: a path of the gateway's, asked of the green set alone. */
  smoke_path: z
    .string()
    .max(256)
    .regex(/^\/(?![/\\])[\x21-\x7e]*$/, {
      error: 'expected a path of the gateway, e.g. /api/catalog/products?page_size=1',
    })
    .optional(),
});

const rollbackBody = z.object({ service: z.string().min(1).max(64) });

/**
 * `POST /admin/releases {service, strategy, to}`: checks the request (a 4xx problem if it cannot
 * run), then answers 200 with the release's progress as it happens, one JSON event per line
 * (`application/x-ndjson`), the last one `released`, `nothing-to-do` or `failed`.
 */
export const releaseRoutes =
  (
    releases: ReleaseController,
    log: (event: ReleaseEvent & { service: string }) => void,
  ): FastifyPluginAsyncZod =>
  async (app) => {
    const keep = (service: string, event: ReleaseEvent) => {
      releases.record(service, event);
      log({ service, ...event });
    };

    /** `GET /admin/releases`: the steps of this run's releases, rollbacks and autoscaling, newest first. */
    app.get('/admin/releases', async () => ({ steps: releases.steps() }));

    app.post('/admin/releases', { schema: { body } }, async (request, reply) => {
      const { service } = request.body;
      const {
        to,
        strategy,
        interval_ms: intervalMs,
        min_sample: minSample,
        p99_margin_ms: p99MarginMs,
        smoke_path,
      } = request.body;
      const run = await releases.begin({
        service,
        strategy,
        to,
        analysis: { intervalMs, minSample, p99MarginMs },
        ...(smoke_path ? { smokePath: smoke_path } : {}),
      });
      const stream = new PassThrough();
      // The release goes on if the caller hangs up: stopping half-way would be the worse outcome.
      const report = (event: ReleaseEvent) => {
        keep(service, event);
        if (!stream.destroyed) stream.write(`${JSON.stringify(event)}\n`);
      };
      void run(report)
        .catch((error: Error) =>
          report({ at_ms: 0, step: 'failed', message: `release stopped: ${error.message}` }),
        )
        .finally(() => stream.end());
      return reply.type('application/x-ndjson').send(stream);
    });

    /**
     * `POST /admin/rollbacks {service}`: switches the service back to the standby set its last
     * blue-green release kept, in one step; 409 when there is none.
     */
    app.post('/admin/rollbacks', { schema: { body: rollbackBody } }, async (request) => {
      const result = await releases.rollback(request.body.service);
      keep(result.service, {
        at_ms: result.took_ms,
        step: 'switched',
        message: `rolled back in ${result.took_ms} ms: ${result.active.join(', ')} active, ${result.standby.join(', ')} standing by`,
      });
      return result;
    });
  };
