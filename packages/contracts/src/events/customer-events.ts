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
    /**
     * Carried for a profile the services write in the monolith's place (`usr_legacy_<id>` once
     * customers moved), which the monolith's copy follows: the address and when it changed.
     */
    address: z.string().optional(),
    updated_at: z.iso.datetime({ offset: true }).optional(),
  }),
});

export const customerEvents = [customerUpdated] as const;
