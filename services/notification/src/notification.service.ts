import { fileURLToPath } from 'node:url';
import { LookupCache, type ServiceDefinition } from '@mercato/chassis';
import {
  customerUpdated,
  notificationCommands,
  notificationEvents,
  orderCancelled,
  orderConfirmed,
  paymentRefunded,
  shipmentDelivered,
  shipmentDispatched,
} from '@mercato/contracts';
import { CustomerService } from '@mercato/contracts/grpc/customer';
import { OrderService } from '@mercato/contracts/grpc/order';
import { GrpcCustomers, GrpcOrderFacts } from './adapters/clients/grpc-lookups.ts';
import { notificationGrpc } from './adapters/grpc/notification.grpc.ts';
import { notificationAdminRoutes } from './adapters/http/notification-admin.routes.ts';
import { SmtpMailer } from './adapters/mail/smtp-mailer.ts';
import { customerUpdatedConsumer } from './adapters/messaging/customer-updated.consumer.ts';
import {
  customerEventsConsumer,
  notificationRequestsConsumer,
} from './adapters/messaging/notification.consumers.ts';
import { PostgresNotifications } from './adapters/persistence/postgres-notifications.ts';
import type { CustomerOrderFacts } from './application/notification-ports.ts';
import { type NotificationConfig, notificationConfig } from './config.ts';

/** How long an order's facts are kept for its later mails (they never change; this only bounds memory). */
const ORDER_FACTS_KEPT_MS = 15 * 60_000;

/** The notification service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const notificationDefinition: ServiceDefinition<
  NotificationConfig,
  { database: true; messaging: true }
> = {
  name: 'notification',
  config: notificationConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'Mercato notification', description: 'gRPC: mercato.notification.v1.NotificationService' },
  messaging: {
    contracts: [
      ...notificationEvents,
      orderConfirmed,
      orderCancelled,
      shipmentDispatched,
      shipmentDelivered,
      paymentRefunded,
      customerUpdated,
      ...notificationCommands,
    ],
  },
  setup({ config, db, outbox, logger, grpcClient }) {
    const store = new PostgresNotifications(db);
    const mailer = new SmtpMailer({
      url: config.SMTP_URL,
      from: config.NOTIFICATION_FROM,
      timeoutMs: config.NOTIFICATION_SMTP_TIMEOUT_MS,
    });
    // Contacts, so a mail does not ask the customer service each time (all of customer's CPU in an
    // order); customer.updated forgets one, and a customer not found is asked about again.
    const customers = new GrpcCustomers(grpcClient(CustomerService, { dependency: 'customer' }));
    const contacts = new LookupCache((customerId: string) => customers.contactOf(customerId), {
      ttlMs: config.NOTIFICATION_CONTACT_CACHE_MS,
      keep: (contact) => contact !== undefined,
    });
    // An order's lines and total never change once placed: what order.confirmed carried, or one
    // GetOrder, serves its later mails (dispatched, delivered) too.
    const orders = new GrpcOrderFacts(grpcClient(OrderService, { dependency: 'order' }));
    const facts = new LookupCache((orderId: string) => orders.factsOf(orderId), {
      ttlMs: ORDER_FACTS_KEPT_MS,
      keep: (order) => order !== undefined,
    });
    const deps = {
      customers: { contactOf: contacts.get },
      orders: {
        factsOf: facts.get,
        learned: (order: CustomerOrderFacts) => facts.remember(order.orderId, order),
      },
      mailer,
      store,
      outbox,
      logger,
    };
    return {
      grpc: notificationGrpc(store),
      routes: notificationAdminRoutes(store),
      consumers: [
        customerEventsConsumer(deps, config.NOTIFICATION_CALL_LEASE_MS),
        notificationRequestsConsumer(deps, config.NOTIFICATION_CALL_LEASE_MS),
        customerUpdatedConsumer(contacts),
      ],
      onClose: async () => mailer.close(),
    };
  },
};
