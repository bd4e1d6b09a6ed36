import * as z from 'zod';
import { defineEvent } from '../message-contract.ts';

/**
 * notification → analytics, operators: a mail was accepted by the SMTP server and recorded. A mail
 * sent again after a crash (same `message_id`) is told again when that send is recorded.
 */
export const notificationSent = defineEvent({
  type: 'notification.sent',
  version: '1.0',
  schema: z.object({
    message_id: z.string().min(1),
    /** The event or request the mail told of. */
    event_id: z.string().min(1),
    kind: z.string().min(1),
    customer_id: z.string().min(1),
    order_id: z.string().min(1).nullable(),
  }),
});

export const notificationEvents = [notificationSent] as const;
