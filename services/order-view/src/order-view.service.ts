import {
  readModelMigrations,
  readModelServiceParts,
  type ServiceDefinition,
  startReadModel,
} from '@mercato/chassis';
import { orderViewGrpc } from './adapters/grpc/order-view.grpc.ts';
import { orderViewRoutes } from './adapters/http/order-view.routes.ts';
import { prepareForLegacyHistory } from './adapters/persistence/legacy-history-upgrade.ts';
import { orderSummariesReadModel } from './adapters/persistence/order-summaries.read-model.ts';
import { PostgresOrderSummaries } from './adapters/persistence/postgres-order-summaries.ts';
import { OrderViewQueries } from './application/order-view-queries.ts';
import { type OrderViewConfig, orderViewConfig } from './config.ts';

/** The order-view read model as the chassis builds it; `main.ts` runs it, tests create it. */
export const orderViewDefinition: ServiceDefinition<OrderViewConfig, { database: true }> = {
  name: 'order-view',
  config: orderViewConfig,
  migrations: readModelMigrations,
  docs: { title: 'Mercato order-view', description: 'gRPC: mercato.orderview.v1.OrderViewService' },
  async setup({ config, db, logger, metrics, customerAccess }) {
    const { rebuild } = await prepareForLegacyHistory(db, orderSummariesReadModel);
    const readModel = await startReadModel({
      config,
      db,
      logger,
      registry: metrics.registry,
      model: orderSummariesReadModel,
    });
    if (rebuild) {
      logger.info(
        'the live copy was built before order-view read the monolith: rebuilding it from the start',
      );
      await readModel.runner.rebuild();
    }
    const queries = new OrderViewQueries(new PostgresOrderSummaries(db, () => readModel.runner.live()));
    return readModelServiceParts(readModel, {
      grpc: orderViewGrpc(queries),
      routes: orderViewRoutes(queries, customerAccess),
    });
  },
};
