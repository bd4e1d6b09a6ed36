import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import * as z from 'zod';

export const inventoryConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...messagingConfigShape,
  ...grpcServerConfigShape(),
  INVENTORY_SEED_DEMO: env.bool(true),
  /** How long a reservation holds stock when the caller does not say. */
  INVENTORY_RESERVATION_TTL_SECONDS: env.int({ min: 1, max: 86_400, default: 900 }),
  /** How often active reservations past their TTL are expired. */
  INVENTORY_EXPIRY_INTERVAL_MS: env.int({ min: 50, max: 600_000, default: 1_000 }),
});

export type InventoryConfig = z.output<typeof inventoryConfig>;
