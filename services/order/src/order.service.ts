import { fileURLToPath } from 'node:url';
import {
  EVENT_STORE_MIGRATIONS_TABLE,
  eventStoreMigrations,
  inTransaction,
  isFinished,
  listenToChannel,
  migrate,
  PostgresEventStore,
  ProjectionRunner,
  SAGA_MIGRATIONS_TABLE,
  SagaRunner,
  type ServiceDefinition,
  sagaMigrations,
  sagaReplyConsumer,
} from '@mercato/chassis';
import { ORDER_SAGA_REPLIES, orderEvents, sagaReply, shipmentEvents } from '@mercato/contracts';
import { PricingService } from '@mercato/contracts/grpc/pricing';
import {
  CHANGE_FEED_MIGRATIONS_TABLE,
  changeFeedMigrations,
} from './adapters/grpc/change-feed-migrations.ts';
import { orderGrpc } from './adapters/grpc/order.grpc.ts';
import { OrderChangeFeed } from './adapters/grpc/order-change-feed.ts';
import { OrderLogTail } from './adapters/grpc/order-log-tail.ts';
import { PlacementLimit } from './adapters/grpc/placement-limit.ts';
import { orderAdminRoutes } from './adapters/http/order-admin.routes.ts';
import { shipmentEventsConsumer } from './adapters/messaging/shipment-events.consumer.ts';
import { EventSourcedOrders } from './adapters/persistence/event-sourced-orders.ts';
import { orderUpcasters } from './adapters/persistence/order-event-codec.ts';
import { orderSummariesProjection } from './adapters/persistence/order-summaries.projection.ts';
import { PostgresOrderRequests } from './adapters/persistence/postgres-order-requests.ts';
import { GrpcPriceQuotes } from './adapters/pricing/grpc-price-quotes.ts';
import { orderSagaEffects } from './application/order-saga-effects.ts';
import {
  cancelOrderSaga,
  isCancelOrderSagaId,
  type OrderSagaData,
  placeOrderSaga,
  sagaCommands,
} from './application/order-sagas.ts';
import { Orders } from './application/orders.ts';
import { shipmentProgress } from './application/shipment-progress.ts';
import { type OrderConfig, orderConfig } from './config.ts';

/** Notified with an order's id when its PlaceOrder saga finishes, whichever instance finished it. */
const PLACEMENT_FINISHED_CHANNEL = 'order_placement_finished';

/** The order service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const orderDefinition: ServiceDefinition<OrderConfig, { database: true; messaging: true }> = {
  name: 'order',
  config: orderConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'Mercato order', description: 'gRPC: mercato.order.v1.OrderService' },
  messaging: { contracts: [...orderEvents, ...sagaCommands, sagaReply, ...shipmentEvents] },
  async setup({ config, db, outbox, logger, metrics, grpcClient, stopping }) {
    await migrate(db, eventStoreMigrations, logger, EVENT_STORE_MIGRATIONS_TABLE);
    await migrate(db, sagaMigrations, logger, SAGA_MIGRATIONS_TABLE);
    await migrate(db, changeFeedMigrations, logger, CHANGE_FEED_MIGRATIONS_TABLE);
    const store = new PostgresEventStore(db, orderUpcasters);
    const orders = new EventSourcedOrders(store, outbox, config.ORDER_SNAPSHOT_EVERY);
    const settings = {
      timeouts: {
        reserveMs: config.ORDER_RESERVE_TIMEOUT_MS,
        paymentMs: config.ORDER_PAYMENT_TIMEOUT_MS,
        confirmMs: config.ORDER_CONFIRM_TIMEOUT_MS,
        holdMs: config.ORDER_HOLD_TIMEOUT_MS,
      },
      maxCompensationAttempts: config.ORDER_SAGA_COMPENSATION_ATTEMPTS,
      resends: config.ORDER_SAGA_RESENDS,
      maxRetryIntervalMs: config.ORDER_SAGA_MAX_RETRY_INTERVAL_MS,
    };
    const effects = orderSagaEffects(orders, logger);
    const placement =
      config.ORDER_PLACEMENT_LIMIT === 'adaptive'
        ? new PlacementLimit(
            {
              initial: config.ORDER_PLACEMENT_LIMIT_INITIAL,
              min: config.ORDER_PLACEMENT_LIMIT_MIN,
              max: config.ORDER_PLACEMENT_LIMIT_MAX,
              holdMs: config.ORDER_PLACEMENT_HOLD_MS,
            },
            metrics.rpc.limiter,
          )
        : undefined;
    const runner = (saga: 'place-order' | 'cancel-order') =>
      new SagaRunner<OrderSagaData>({
        definition: (saga === 'place-order' ? placeOrderSaga : cancelOrderSaga)(settings),
        pool: db,
        outbox,
        commands: sagaCommands,
        source: 'order',
        replyTo: ORDER_SAGA_REPLIES,
        logger,
        registry: metrics.registry,
        afterTransition: async (transaction, change) => {
          const { before, after } = change;
          if (
            placement &&
            saga === 'place-order' &&
            isFinished(after.status) &&
            !(before && isFinished(before.status))
          ) {
            placement.finished(after.data.orderId);
            // The instance that accepted the order, and holds its place under the limit, may be
            // another one (replicas, a canary: any member of the group handles a saga's replies):
            // it hears at commit, on the LISTEN connection every instance has.
            await transaction.query('SELECT pg_notify($1, $2)', [
              PLACEMENT_FINISHED_CHANNEL,
              after.data.orderId,
            ]);
          }
          return effects(transaction, saga, change);
        },
      });
    const placeSaga = runner('place-order');
    const cancelSaga = runner('cancel-order');
    const service = new Orders({
      orders,
      requests: new PostgresOrderRequests(db),
      quotes: new GrpcPriceQuotes(grpcClient(PricingService, { dependency: 'pricing' })),
      placeSaga,
      cancelSaga,
      transact: (work) => inTransaction(db, work),
      now: () => new Date(),
    });
    const summaries = new ProjectionRunner(db, store, orderSummariesProjection);
    summaries.start(config.ORDER_PROJECTION_INTERVAL_MS, (error) =>
      logger.warn({ error }, 'order-summaries projection failed; will retry'),
    );
    // Live order streams: one reader of the log per process, woken by the event store's NOTIFY.
    const tail = new OrderLogTail(store, logger);
    const changes = listenToChannel({
      url: config.DATABASE_URL,
      channel: 'order_changes',
      logger,
      onNotify: (transactionId) => {
        tail.notified(transactionId);
        summaries.wake();
      },
      ...(placement
        ? { alsoChannels: { [PLACEMENT_FINISHED_CHANNEL]: (orderId: string) => placement.finished(orderId) } }
        : {}),
      onReconnect: () => tail.reconnected(),
      // The summaries projection catches up on every append, and on each LISTEN (what came before it).
      onListening: () => summaries.wake(),
    });
    return {
      grpc: orderGrpc(service, new OrderChangeFeed(store, tail), stopping, placement),
      routes: orderAdminRoutes({ pool: db, sagas: [placeSaga, cancelSaga], summaries }),
      consumers: [
        // One queue carries the replies of both sagas: each goes to the saga its id names.
        sagaReplyConsumer('order', ORDER_SAGA_REPLIES, (sagaId) =>
          isCancelOrderSagaId(sagaId) ? cancelSaga : placeSaga,
        ),
        shipmentEventsConsumer(shipmentProgress(orders, logger)),
      ],
      // Only an active instance fires saga timers (a blue-green standby does not).
      duties: [placeSaga, cancelSaga].map((saga, index) => ({
        name: index === 0 ? 'place-order saga timers' : 'cancel-order saga timers',
        start: () => saga.startTimers(config.ORDER_SAGA_TIMER_INTERVAL_MS),
        stop: () => saga.stopTimers(),
      })),
      onClose: async () => {
        tail.close();
        await changes.close();
        await summaries.stop();
      },
    };
  },
};
