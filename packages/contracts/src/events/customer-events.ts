import { z } from 'zod';
import { defineEvent } from '../message-contract.ts';

/** customer → read models: a profile or its preferences changed. */
export const customerUpdated = defineEvent({
  type: 'customer.updated',
  version: '1.0',
  schema: z.object({
    customer_id: z.string().min(1),
    name: z.string().min(1),
    segment: z.string().min(1),
    preferences: z.object({
      marketing_emails: z.boolean(),
      language: z.string(),
      currency: z.string(),
    }),
  }),
});

export const customerEvents = [customerUpdated] as const;
