import * as z from 'zod';
import { defineEvent } from '../message-contract.ts';

/** payment → read models, analytics: the order's total was captured at the provider. */
export const paymentProcessed = defineEvent({
  type: 'payment.processed',
  version: '1.0',
  schema: z.object({
    order_id: z.string().min(1),
    payment_id: z.string().min(1),
    amount_minor: z.number().int().min(0),
    currency: z.string().regex(/^[A-Z]{3}$/),
  }),
});

/** payment → read models, analytics: no charge was taken (declined, or the provider stayed down). */
export const paymentFailed = defineEvent({
  type: 'payment.failed',
  version: '1.0',
  schema: z.object({
    order_id: z.string().min(1),
    reason: z.string().min(1),
  }),
});

/** payment → notification, read models: money went back to the customer. */
export const paymentRefunded = defineEvent({
  type: 'payment.refunded',
  version: '1.0',
  schema: z.object({
    order_id: z.string().min(1),
    refund_id: z.string().min(1),
    amount_minor: z.number().int().min(0),
    currency: z.string().regex(/^[A-Z]{3}$/),
  }),
});

export const paymentEvents = [paymentProcessed, paymentFailed, paymentRefunded] as const;
