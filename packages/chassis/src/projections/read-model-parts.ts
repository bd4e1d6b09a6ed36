import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { env } from '../config/env-schema.ts';
import type { ServiceParts } from '../create-service.ts';
import type { Pool } from '../db/database.ts';
import type { GrpcRoutes } from '../grpc/grpc-server.ts';
import type { ReadinessCheck } from '../http/health-routes.ts';
import type { Logger } from '../logging/create-logger.ts';
import { type MessagingConfig, messagingConfigShape } from '../messaging/service-messaging.ts';
import { connectEventLog } from './connect-event-log.ts';
import { readModelRoutes } from './read-model.routes.ts';
import type { ReadModel } from './read-model.ts';
import { registerReadModelMetrics } from './read-model-metrics.ts';
import { ReadModelRunner } from './read-model-runner.ts';

/** What a read-model service reads on top of its own: its bus (for the log) and how it applies. */
export const readModelConfigShape = {
  ...messagingConfigShape,
  /**
   * Events applied per transaction, at most. Only a backlog fills a batch (a rebuild, a restart
   * after a while); live, a batch is whatever arrived since the last poll. In bench/read-models a
   * rebuild of 100k events ran at 16k events/s with 1,000 and 31k with 5,000.
   */
  READ_MODEL_BATCH_SIZE: env.int({ min: 1, max: 10_000, default: 5_000 }),
  /**
   * How often the log is read while nothing is new: on the PostgreSQL store only for a short while
   * after each notification of the log (then it sleeps until the next), on NATS always.
   */
  READ_MODEL_POLL_MS: env.int({ min: 10, max: 10_000, default: 100 }),
};

/** The read-model bookkeeping tables: a read-model service's `migrations`. */
export const readModelMigrations = fileURLToPath(new URL('./migrations', import.meta.url));

export interface ReadModelSettings {
  config: MessagingConfig & { READ_MODEL_BATCH_SIZE?: number; READ_MODEL_POLL_MS?: number };
  db: Pool;
  logger: Logger;
  registry: Registry;
  model: ReadModel;
}

/**
 * Everything a read-model service needs around its model: the event log of its bus, the runner
 * (started), lag metrics, lag in `/readyz` detail and the admin routes. The service adds its queries.
 */
export async function startReadModel(settings: ReadModelSettings) {
  const log = await connectEventLog(settings.config, settings.logger);
  const runner = new ReadModelRunner({
    pool: settings.db,
    log,
    model: settings.model,
    logger: settings.logger,
    ...(settings.config.READ_MODEL_BATCH_SIZE ? { batchSize: settings.config.READ_MODEL_BATCH_SIZE } : {}),
    ...(settings.config.READ_MODEL_POLL_MS ? { pollMs: settings.config.READ_MODEL_POLL_MS } : {}),
  });
  registerReadModelMetrics(settings.registry, runner);
  await runner.start();
  const readiness: ReadinessCheck = {
    name: settings.model.name,
    async check() {
      const generations = await runner.generations();
      const detail: Record<string, unknown> = {};
      for (const generation of generations) {
        if (generation.status !== 'live' && generation.status !== 'building') continue;
        detail[generation.status] = {
          generation: generation.generation,
          position: generation.checkpoint,
          // A lagging read model still serves: its lag is shown, never a reason to be unready, and
          // a log slow to answer leaves it unknown rather than holding the probe.
          lag: await Promise.race([
            runner.lag(generation).catch(() => 'unknown'),
            new Promise((resolve) => setTimeout(() => resolve('unknown'), 500).unref()),
          ]),
        };
      }
      return detail;
    },
  };
  return {
    runner,
    routes: readModelRoutes(runner),
    readiness,
    close: async () => {
      await runner.stop();
      await log.close();
    },
  };
}

/**
 * The parts of a read-model service: its own gRPC and HTTP queries beside the read model's admin
 * routes, its lag as readiness detail, and the runner stopped on close.
 */
export function readModelServiceParts(
  readModel: Awaited<ReturnType<typeof startReadModel>>,
  queries: { grpc: GrpcRoutes; routes: FastifyPluginAsyncZod },
): ServiceParts {
  return {
    grpc: queries.grpc,
    routes: async (app) => {
      await app.register(readModel.routes);
      await app.register(queries.routes);
    },
    readiness: [readModel.readiness],
    onClose: readModel.close,
  };
}
