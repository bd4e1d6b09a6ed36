import {
  readModelMigrations,
  readModelServiceParts,
  type ServiceDefinition,
  startReadModel,
} from '@mercato/chassis';
import { analyticsGrpc } from './adapters/grpc/analytics.grpc.ts';
import { analyticsRoutes } from './adapters/http/analytics.routes.ts';
import { analyticsReadModel } from './adapters/persistence/analytics.read-model.ts';
import { PostgresReports } from './adapters/persistence/postgres-reports.ts';
import { AnalyticsQueries } from './application/analytics-queries.ts';
import { type AnalyticsConfig, analyticsConfig } from './config.ts';

/** The analytics read model as the chassis builds it; `main.ts` runs it, tests create it. */
export const analyticsDefinition: ServiceDefinition<AnalyticsConfig, { database: true }> = {
  name: 'analytics',
  config: analyticsConfig,
  migrations: readModelMigrations,
  docs: { title: 'Mercato analytics', description: 'gRPC: mercato.analytics.v1.AnalyticsService' },
  async setup({ config, db, logger, metrics, customerAccess }) {
    const readModel = await startReadModel({
      config,
      db,
      logger,
      registry: metrics.registry,
      model: analyticsReadModel,
    });
    const queries = new AnalyticsQueries(new PostgresReports(db, () => readModel.runner.live()));
    return readModelServiceParts(readModel, {
      grpc: analyticsGrpc(queries),
      routes: analyticsRoutes(queries, customerAccess),
    });
  },
};
