import * as z from 'zod';
import { defineCommand } from '../message-contract.ts';

/** The work queue notification sends requested mails from. */
export const NOTIFICATION_REQUESTS = 'notification.requests';

/**
 * any service → notification: mail a customer. notification looks up the address (customer
 * service) and sends it once per `reference` (the same reference is the same mail).
 */
export const notificationRequest = defineCommand({
  type: 'notification.request',
  version: '1.0',
  schema: z.object({
    customer_id: z.string().min(1),
    /** What makes the mail unique for its sender (a repeat with the same reference is the same mail). */
    reference: z.string().min(1).max(200),
    subject: z.string().min(1).max(200),
    text: z.string().min(1).max(20_000),
    order_id: z.string().min(1).optional(),
  }),
});

export const notificationCommands = [notificationRequest] as const;
