import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@mercato/chassis';
import {
  fulfillmentCommands,
  orderCancelled,
  orderConfirmed,
  sagaReply,
  shipmentEvents,
} from '@mercato/contracts';
import { HttpCarrier } from './adapters/carrier/http-carrier.ts';
import { fulfillmentGrpc } from './adapters/grpc/fulfillment.grpc.ts';
import { fulfillmentCommandsConsumer } from './adapters/messaging/fulfillment-commands.consumer.ts';
import { orderEventsConsumer } from './adapters/messaging/order-events.consumer.ts';
import { PostgresShipments } from './adapters/persistence/postgres-shipments.ts';
import { Fulfillment } from './application/fulfillment.ts';
import { ShipmentWorker } from './application/shipment-worker.ts';
import { type FulfillmentConfig, fulfillmentConfig } from './config.ts';

/** The fulfillment service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const fulfillmentDefinition: ServiceDefinition<
  FulfillmentConfig,
  { database: true; messaging: true }
> = {
  name: 'fulfillment',
  config: fulfillmentConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'Mercato fulfillment', description: 'gRPC: mercato.fulfillment.v1.FulfillmentService' },
  messaging: {
    contracts: [orderConfirmed, orderCancelled, ...shipmentEvents, ...fulfillmentCommands, sagaReply],
  },
  setup({ config, db, outbox, logger }) {
    const fulfillment = new Fulfillment({
      pool: db,
      store: new PostgresShipments(db),
      carrier: new HttpCarrier(config.CARRIER_URL, config.FULFILLMENT_CARRIER_TIMEOUT_MS),
      outbox,
      logger,
      trackEveryMs: config.FULFILLMENT_TRACK_EVERY_MS,
      callLeaseMs: config.FULFILLMENT_CALL_LEASE_MS,
      now: () => new Date(),
    });
    const worker = new ShipmentWorker(fulfillment, logger, {
      workers: config.FULFILLMENT_WORKERS,
      pollMs: config.FULFILLMENT_POLL_INTERVAL_MS,
    });
    const wake = () => worker.wake();
    return {
      grpc: fulfillmentGrpc(fulfillment),
      consumers: [
        orderEventsConsumer(fulfillment, wake),
        fulfillmentCommandsConsumer(fulfillment, outbox, wake),
      ],
      duties: [{ name: 'shipment worker', start: () => worker.start(), stop: () => worker.stop() }],
    };
  },
};
