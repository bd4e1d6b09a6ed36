import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@mercato/chassis';
import { paymentCommands, paymentEvents, sagaReply, shipmentFailed } from '@mercato/contracts';
import { paymentGrpc } from './adapters/grpc/payment.grpc.ts';
import { paymentCommandsConsumer } from './adapters/messaging/payment-commands.consumer.ts';
import { shipmentFailedConsumer } from './adapters/messaging/shipment-failed.consumer.ts';
import { PostgresPayments } from './adapters/persistence/postgres-payments.ts';
import { HttpPaymentProvider } from './adapters/provider/http-payment-provider.ts';
import { type PaymentConfig, paymentConfig } from './config.ts';

/** The payment service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const paymentDefinition: ServiceDefinition<PaymentConfig, { database: true; messaging: true }> = {
  name: 'payment',
  config: paymentConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'Mercato payment', description: 'gRPC: mercato.payment.v1.PaymentService' },
  messaging: { contracts: [...paymentEvents, ...paymentCommands, sagaReply, shipmentFailed] },
  setup({ config, db, outbox }) {
    const store = new PostgresPayments(db);
    const provider = new HttpPaymentProvider(config.PAYMENT_PROVIDER_URL, config.PAYMENT_PROVIDER_TIMEOUT_MS);
    const deps = { store, provider, outbox, now: () => new Date() };
    return {
      grpc: paymentGrpc(store),
      consumers: [
        paymentCommandsConsumer(deps, config.PAYMENT_CALL_LEASE_MS),
        shipmentFailedConsumer(deps, config.PAYMENT_CALL_LEASE_MS),
      ],
    };
  },
};
