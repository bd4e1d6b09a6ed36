import { fileURLToPath } from 'node:url';
import { currentRequestContext, newId, type ServiceDefinition } from '@mercato/chassis';
import {
  customerEvents,
  identityEvents,
  legacyCapabilityChanged,
  legacyCustomerChanged,
} from '@mercato/contracts';
import { demoMemberEmails } from '@mercato/demo-shop';
import { customerGrpc } from './adapters/grpc/customer.grpc.ts';
import { legacyAdminRoutes } from './adapters/http/legacy-admin.routes.ts';
import { legacyCapabilityChangedConsumer } from './adapters/messaging/legacy-capability-changed.consumer.ts';
import { legacyCustomerChangedConsumer } from './adapters/messaging/legacy-customer-changed.consumer.ts';
import { userRegisteredConsumer } from './adapters/messaging/user-registered.consumer.ts';
import { PostgresCustomers } from './adapters/persistence/postgres-customers.ts';
import { customerService } from './application/customer-service.ts';
import { type CustomerConfig, customerConfig } from './config.ts';

/** The customer service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const customerDefinition: ServiceDefinition<CustomerConfig, { database: true; messaging: true }> = {
  name: 'customer',
  config: customerConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'Mercato customer', description: 'gRPC: mercato.customer.v1.CustomerService' },
  messaging: {
    contracts: [...customerEvents, ...identityEvents, legacyCustomerChanged, legacyCapabilityChanged],
  },
  setup({ config, db, outbox, logger, consumerLag }) {
    const store = new PostgresCustomers(db, outbox);
    const legacyCustomers = legacyCustomerChangedConsumer(store, logger);
    const customers = customerService({
      store,
      now: () => new Date(),
      correlationId: () => currentRequestContext()?.correlationId ?? newId('corr'),
      legacyCaughtUp: async () => (await consumerLag(legacyCustomers.group)) === 0,
    });
    const members = new Set(config.CUSTOMER_SEED_DEMO ? demoMemberEmails : []);
    return {
      grpc: customerGrpc(customers),
      routes: legacyAdminRoutes(customers),
      consumers: [
        userRegisteredConsumer(store, (email) => (members.has(email) ? 'member' : 'standard')),
        legacyCustomers,
        legacyCapabilityChangedConsumer(store),
      ],
    };
  },
};
