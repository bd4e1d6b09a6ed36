import { fileURLToPath } from 'node:url';
import { currentRequestContext, newId, type ServiceDefinition } from '@mercato/chassis';
import {
  inventoryCommands,
  inventoryEvents,
  legacyCapabilityChanged,
  legacyProductChanged,
  legacyStockChanged,
  sagaReply,
  shipmentFailed,
} from '@mercato/contracts';
import { inventoryGrpc } from './adapters/grpc/inventory.grpc.ts';
import { legacyAdminRoutes } from './adapters/http/legacy-admin.routes.ts';
import { inventoryCommandsConsumer } from './adapters/messaging/inventory-commands.consumer.ts';
import { legacyOrdersMovedConsumer } from './adapters/messaging/legacy-orders-moved.consumer.ts';
import { legacyStockChangedConsumer } from './adapters/messaging/legacy-stock-changed.consumer.ts';
import { shipmentFailedConsumer } from './adapters/messaging/shipment-failed.consumer.ts';
import { legacyStock } from './adapters/persistence/legacy-stock.ts';
import { PostgresInventory } from './adapters/persistence/postgres-inventory.ts';
import { StockLevelFeed } from './adapters/persistence/stock-level-feed.ts';
import { seedDemoStock } from './application/demo-stock.ts';
import { ExpiryTimer } from './application/expiry-timer.ts';
import { inventoryMessages } from './application/inventory-messages.ts';
import { type InventoryConfig, inventoryConfig } from './config.ts';

/** The inventory service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const inventoryDefinition: ServiceDefinition<InventoryConfig, { database: true; messaging: true }> = {
  name: 'inventory',
  config: inventoryConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'Mercato inventory', description: 'gRPC: mercato.inventory.v1.InventoryService' },
  messaging: {
    contracts: [
      ...inventoryEvents,
      ...inventoryCommands,
      sagaReply,
      shipmentFailed,
      legacyProductChanged,
      legacyStockChanged,
      legacyCapabilityChanged,
    ],
  },
  async setup({ config, db, outbox, logger, stopping, consumerLag }) {
    const inventory: PostgresInventory = new PostgresInventory({
      pool: db,
      outbox,
      now: () => new Date(),
      correlationId: () => currentRequestContext()?.correlationId ?? newId('corr'),
      onReserved: (at) => expiry.expiresAt(at),
    });
    const expiry = new ExpiryTimer({
      sweep: async () => {
        const expired = await inventory.expireDue(EXPIRY_BATCH);
        if (expired > 0) logger.info({ expired }, 'expired reservations past their TTL');
        return expired;
      },
      nextExpiry: () => inventory.nextExpiry(),
      onError: (error) => logger.warn({ err: error }, 'expiring reservations failed; will retry'),
      retryMs: config.INVENTORY_EXPIRY_INTERVAL_MS,
      limit: EXPIRY_BATCH,
    });
    if (config.INVENTORY_SEED_DEMO) {
      const seeded = await seedDemoStock(db);
      if (seeded > 0) logger.info({ stock_levels: seeded }, 'seeded the demo stock');
    }
    const feed = new StockLevelFeed(config.DATABASE_URL, logger);
    const legacyShelf = legacyStockChangedConsumer();
    return {
      routes: legacyAdminRoutes(db, outbox, (lines) =>
        inventoryMessages(currentRequestContext()?.correlationId ?? newId('corr'), new Date()).shelfReturned(
          newId('xfr'),
          true,
          lines,
        ),
      ),
      consumers: [
        inventoryCommandsConsumer(inventory, outbox, config.INVENTORY_RESERVATION_TTL_SECONDS),
        shipmentFailedConsumer(inventory),
        legacyShelf,
        legacyOrdersMovedConsumer(legacyShelf.group, consumerLag, () => legacyStock.markMoving(db), logger),
      ],
      grpc: inventoryGrpc({
        inventory,
        feed,
        defaultTtlSeconds: config.INVENTORY_RESERVATION_TTL_SECONDS,
        stopping,
      }),
      // Only an active instance expires reservations (a blue-green standby does not).
      duties: [{ name: 'reservation expiry', start: () => expiry.start(), stop: () => expiry.stop() }],
      onClose: () => feed.close(),
    };
  },
};

/** Reservations released per statement batch by the expiry timer. */
const EXPIRY_BATCH = 100;
