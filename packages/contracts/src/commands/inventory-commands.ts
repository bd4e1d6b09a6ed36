import * as z from 'zod';
import { defineCommand } from '../message-contract.ts';
import { sagaRequest } from './saga-messages.ts';

/** The queue inventory consumes its commands from. */
export const INVENTORY_COMMANDS = 'inventory.commands';

/** order saga → inventory: hold stock for these lines (all or nothing), idempotent by reservation id. */
export const reserveStock = defineCommand({
  type: 'inventory.reserve',
  version: '1.0',
  schema: z.object({
    reservation_id: z.string().min(1),
    lines: z.array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive() })).min(1),
    /** 0: the service's default. */
    ttl_seconds: z.number().int().min(0),
    saga: sagaRequest,
  }),
});

/**
 * order saga → inventory: give the reservation's stock back. For a committed reservation (an order
 * cancelled after it was confirmed) the stock returns to the shelf; for one never made, the id is
 * remembered as released so a late reserve does nothing.
 */
export const releaseStock = defineCommand({
  type: 'inventory.release',
  version: '1.0',
  schema: z.object({ reservation_id: z.string().min(1), saga: sagaRequest }),
});

/** order saga → inventory: the order is confirmed; the reserved stock leaves for good. */
export const commitStock = defineCommand({
  type: 'inventory.commit',
  version: '1.0',
  schema: z.object({ reservation_id: z.string().min(1), saga: sagaRequest }),
});

export const inventoryCommands = [reserveStock, releaseStock, commitStock] as const;
