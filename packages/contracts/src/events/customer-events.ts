import * as z from 'zod';
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

/**
 * The services give the monolith's customers back (the strangler's phase 3, undone): customer takes
 * no profile write from here on, and every `customer.updated` it made before is ahead of this on the
 * bus. The monolith takes customers back once those are all written into it.
 */
export const customersHandedBack = defineEvent({
  type: 'customer.legacy_handed_back',
  version: '1.0',
  schema: z.object({ capability: z.literal('customers'), handed_back_at: z.iso.datetime({ offset: true }) }),
});

export const customerEvents = [customerUpdated, customersHandedBack] as const;
