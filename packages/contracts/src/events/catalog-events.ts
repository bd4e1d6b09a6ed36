import { z } from 'zod';
import { defineEvent } from '../message-contract.ts';

const productFields = {
  product_id: z.string().min(1),
  sku: z.string().min(1),
  name: z.string().min(1),
  category: z.string().min(1),
};

/** catalog → pricing, inventory, analytics: a product exists. */
export const productCreated = defineEvent({
  type: 'product.created',
  version: '1.0',
  schema: z.object(productFields),
});

/** catalog → read models: a product's name or category changed. */
export const productUpdated = defineEvent({
  type: 'product.updated',
  version: '1.0',
  schema: z.object(productFields),
});

export const catalogEvents = [productCreated, productUpdated] as const;
