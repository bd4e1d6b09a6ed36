import * as z from 'zod';
import { defineEvent } from '../message-contract.ts';

const allocation = z.object({
  sku: z.string().min(1),
  warehouse_id: z.string().min(1),
  quantity: z.number().int().positive(),
});

/** inventory → order saga, read models: stock is held for a reservation until it expires. */
export const inventoryReserved = defineEvent({
  type: 'inventory.reserved',
  version: '1.0',
  schema: z.object({
    reservation_id: z.string().min(1),
    allocations: z.array(allocation).min(1),
    expires_at: z.string().datetime(),
  }),
});

/** inventory → order saga: nothing was reserved because a line could not be covered. */
export const inventoryReservationFailed = defineEvent({
  type: 'inventory.reservation_failed',
  version: '1.0',
  schema: z.object({
    reservation_id: z.string().min(1),
    reason: z.enum(['insufficient_stock', 'unknown_sku']),
    lines: z.array(
      z.object({ sku: z.string().min(1), requested: z.number().int(), available: z.number().int() }),
    ),
  }),
});

/** inventory → order saga, read models: held stock is available again. */
export const inventoryReleased = defineEvent({
  type: 'inventory.released',
  version: '1.0',
  schema: z.object({
    reservation_id: z.string().min(1),
    reason: z.enum(['released', 'expired']),
    allocations: z.array(allocation),
  }),
});

/** inventory → purchasing, notifications: a SKU's available stock fell to or below its threshold. */
export const stockLow = defineEvent({
  type: 'stock.low',
  version: '1.0',
  schema: z.object({
    sku: z.string().min(1),
    available: z.number().int().min(0),
    threshold: z.number().int().min(0),
  }),
});

/**
 * inventory → legacy-cdc (the strangler's phase 3 for orders undone): stock inventory gives the
 * monolith's shelf back, as differences to add to it (`product_id` the monolith's key), applied once
 * under `transfer_id`. With `hand_back`, the monolith takes orders back once they are applied;
 * without, it is stock that came back to inventory's warehouse `legacy` after that (a reservation of
 * the services' released) and is the monolith's.
 */
export const legacyShelfReturned = defineEvent({
  type: 'inventory.legacy_shelf_returned',
  version: '1.0',
  schema: z.object({
    transfer_id: z.string().min(1).max(200),
    hand_back: z.boolean(),
    lines: z.array(
      z.object({
        product_id: z.string().regex(/^\d{1,19}$/),
        sku: z.string().min(1),
        quantity: z.number().int(),
      }),
    ),
  }),
});

export const inventoryEvents = [
  inventoryReserved,
  inventoryReservationFailed,
  inventoryReleased,
  stockLow,
  legacyShelfReturned,
] as const;
