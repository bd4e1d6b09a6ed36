import * as z from 'zod';
import { defineEvent } from '../message-contract.ts';

const productFields = {
  product_id: z.string().min(1),
  sku: z.string().min(1),
  name: z.string().min(1),
  category: z.string().min(1),
};

/**
 * catalog → pricing, inventory, analytics: a product exists. 1.1 adds `slug` (the name as a URL
 * path segment); a 1.0 message, from a catalog released before it, has none.
 */
export const productCreated = defineEvent({
  type: 'product.created',
  version: '1.1',
  schema: z.object({ ...productFields, slug: z.string().min(1).max(80).optional() }),
  upcasters: [{ from: '1.0', to: '1.1', upcast: (data) => data }],
});

/** catalog → read models: a product's name or category changed. */
export const productUpdated = defineEvent({
  type: 'product.updated',
  version: '1.0',
  schema: z.object(productFields),
});

export const catalogEvents = [productCreated, productUpdated] as const;
