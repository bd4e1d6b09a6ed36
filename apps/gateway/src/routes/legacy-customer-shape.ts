import { z } from 'zod';

/** A customer as the monolith's API answers one (`GET|PATCH /api/customers/:id`). */
export const legacyCustomer = z.object({
  id: z.number(),
  email: z.string(),
  name: z.string(),
  address: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type LegacyCustomer = z.output<typeof legacyCustomer>;
