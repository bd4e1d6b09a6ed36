import * as z from 'zod';
import { defineEvent } from '../message-contract.ts';

/** identity → customer, analytics: an account exists. */
export const userRegistered = defineEvent({
  type: 'user.registered',
  version: '1.0',
  schema: z.object({
    user_id: z.string().min(1),
    email: z.string().email(),
    name: z.string().min(1),
  }),
});

export const identityEvents = [userRegistered] as const;
