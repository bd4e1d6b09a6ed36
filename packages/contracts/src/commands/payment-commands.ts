import * as z from 'zod';
import { defineCommand } from '../message-contract.ts';
import { sagaRequest } from './saga-messages.ts';

/** The queue payment consumes its commands from. */
export const PAYMENT_COMMANDS = 'payment.commands';

/** order saga → payment: authorize and capture the order's total at the provider. */
export const takePayment = defineCommand({
  type: 'payment.take',
  version: '1.0',
  schema: z.object({
    order_id: z.string().min(1),
    customer_id: z.string().min(1),
    amount_minor: z.number().int().min(0),
    currency: z.string().regex(/^[A-Z]{3}$/),
    /**
     * When the saga stops waiting (RFC 3339). A provider that stays down past it makes payment give
     * up and answer `provider_unavailable` instead of retrying on; the saga compensates meanwhile.
     */
    expires_at: z.string().datetime(),
    saga: sagaRequest,
  }),
});

/**
 * order saga → payment: return whatever was charged for the order, whether or not the charge was
 * ever recorded here (a charge may have reached the provider just before a crash). Afterwards no
 * charge for the order is taken any more.
 */
export const refundPayment = defineCommand({
  type: 'payment.refund',
  version: '1.0',
  schema: z.object({ order_id: z.string().min(1), reason: z.string().min(1), saga: sagaRequest }),
});

export const paymentCommands = [takePayment, refundPayment] as const;
