import { FULFILLMENT_COMMANDS } from './commands/fulfillment-commands.ts';
import { INVENTORY_COMMANDS } from './commands/inventory-commands.ts';
import { NOTIFICATION_REQUESTS } from './commands/notification-commands.ts';
import { PAYMENT_COMMANDS } from './commands/payment-commands.ts';
import { ORDER_SAGA_REPLIES } from './commands/saga-messages.ts';
import { catalogEvents } from './events/catalog-events.ts';
import { customerEvents } from './events/customer-events.ts';
import { identityEvents } from './events/identity-events.ts';
import { inventoryEvents } from './events/inventory-events.ts';
import { legacyEvents } from './events/legacy-events.ts';
import { notificationEvents } from './events/notification-events.ts';
import { orderEvents } from './events/order-events.ts';
import { paymentEvents } from './events/payment-events.ts';
import { shipmentEvents } from './events/shipment-events.ts';

/**
 * Every destination the shop's processes publish to: each event's topic (its type) and each queue.
 * Tools that clear a shop's messages (a test's fresh start) clear these and nothing else, so the
 * streams of anything else on the same server (another suite's) are left alone.
 */
export const shopDestinations: { topics: readonly string[]; queues: readonly string[] } = {
  topics: [
    ...catalogEvents,
    ...customerEvents,
    ...identityEvents,
    ...inventoryEvents,
    ...legacyEvents,
    ...notificationEvents,
    ...orderEvents,
    ...paymentEvents,
    ...shipmentEvents,
  ].map((contract) => contract.type),
  queues: [
    FULFILLMENT_COMMANDS,
    INVENTORY_COMMANDS,
    NOTIFICATION_REQUESTS,
    PAYMENT_COMMANDS,
    ORDER_SAGA_REPLIES,
  ],
};
