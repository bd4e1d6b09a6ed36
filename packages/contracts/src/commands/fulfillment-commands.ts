import * as z from 'zod';
import { defineCommand } from '../message-contract.ts';
import { sagaRequest } from './saga-messages.ts';

/** The queue fulfillment consumes its commands from. */
export const FULFILLMENT_COMMANDS = 'fulfillment.commands';

/**
 * order's cancel saga → fulfillment: make sure the order's parcel never leaves. Succeeds when the
 * shipment is not yet with the carrier (it is cancelled; an order not seen yet gets a tombstone, so
 * a late order.confirmed ships nothing); fails with `already_dispatched` once it is.
 */
export const holdShipment = defineCommand({
  type: 'fulfillment.hold',
  version: '1.0',
  schema: z.object({ order_id: z.string().min(1), reason: z.string().min(1), saga: sagaRequest }),
});

/**
 * order's cancel saga → fulfillment, compensating a hold: the cancellation did not go through, so a
 * parcel held for it is packed and sent after all. Releasing what is not held is no change.
 */
export const releaseShipment = defineCommand({
  type: 'fulfillment.release',
  version: '1.0',
  schema: z.object({ order_id: z.string().min(1), saga: sagaRequest }),
});

export const fulfillmentCommands = [holdShipment, releaseShipment] as const;
